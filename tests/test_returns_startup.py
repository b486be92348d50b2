"""What a return worker loads: an .ods copy (rebuilt from the grid) must not import openpyxl and
numpy (~0.3 s of CPU per worker) only for openpyxl to refuse a package without
[Content_Types].xml."""
from __future__ import annotations

import io
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT
from pipeline.run import run
from pipeline.write.returns import _ooxml, return_tasks

ODS = ROOT / "sample_workbooks" / "11_市统计局_ods.ods"
XLSX = next(p for p in sorted((ROOT / "sample_workbooks").glob("*.xlsx")))


def test_only_an_ooxml_package_goes_to_the_edits_or_openpyxl():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<x/>")
    assert _ooxml(buf.getvalue()) is False
    assert _ooxml(b"PK\x03\x04" + bytes(200)) is False   # not a readable zip at all
    assert _ooxml((ROOT / "sample_workbooks" / "11_市统计局_ods.ods").read_bytes()) is False
    assert _ooxml((ROOT / "sample_workbooks" / "10_市林业局_旧版.xls").read_bytes()) is False
    assert _ooxml(XLSX.read_bytes()) is True


def test_an_ods_copy_is_made_without_openpyxl(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(ODS, inbox / ODS.name)
    report = run(inbox, tmp_path / "out", jobs=1, returns=False, summary=False)
    for r in report.results:
        r.return_name = str(Path(r.file).with_suffix(".xlsx"))
    tasks = [t for _, t in return_tasks(report, every=True)]
    assert len(tasks) == 1
    (tmp_path / "task.pkl").write_bytes(pickle.dumps((*tasks[0], str(tmp_path / "r"))))
    # a fresh interpreter, as a worker from the fork server: nothing but the reader loaded
    script = ("import pickle, sys\n"
              "from pipeline.write.returns import return_job\n"
              f"task = pickle.load(open({str(tmp_path / 'task.pkl')!r}, 'rb'))\n"
              "print(return_job(*task))\n"
              "print(sorted(m for m in ('openpyxl', 'numpy', 'pandas') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    name, loaded = out.stdout.strip().splitlines()
    assert (tmp_path / "r" / name).exists()
    assert loaded == "[]"
