"""The selfeval command: run · check · inspect · rules, and main(), which turns every way a command
can end into a Chinese message and a documented exit code. Words and rendering live in render.py.

Exit codes: 0 nothing at the --fail-on level · 1 findings at that level · 2 rejected files, or
the user's to fix (arguments, folders, a rule file, OUT unusable) · 3 the run could not account
for every input · 4 an unexpected failure (details in selfeval-error.log, never a traceback).
"""
from __future__ import annotations

import datetime as dt
import errno
import importlib
import os
import platform
import shutil
import sys
import tempfile
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, get_origin

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_group

from . import render
from .errors import InboxError, OutputError, SelfevalError, UsageError, os_reason
from .read.pool import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from .check.ruleset import RuleFileError, check_labels, load_pack, parse_tolerance, read_toml

FAIL_LEVELS = {"error": ("error",), "warning": ("error", "warning"),
               "info": ("error", "warning", "info"), "none": ()}
_LOG_NAME = "selfeval-error.log"
_state: dict = {"out": None}  # where an unexpected failure's details go (OUT once it is known)


# typer (0.29) coerces every parameter through a pydantic TypeAdapter: importing pydantic and
# building the adapters is ~0.1 s of each start. The plain kinds used here (a parser, str, Path,
# a flag's bool) are coerced as typer's adapters do it, without pydantic; any other kind, and any
# value the plain way does not take, goes through typer's own coercion (its value, its error).
try:
    from typer._coercion import RuntimeParam as _RuntimeParam, build_runtime_param as _typer_coercion
    from typer._param_types import coerce_cli_path as _coerce_cli_path
    from typer.core import _TyperParameter
except ImportError:  # another typer: its own coercion throughout
    _RuntimeParam = None


def _plain_value(annotation, info, value, param, ctx):
    if info.parser is not None:
        return info.parser(value)
    if annotation is bool and isinstance(value, bool):
        return value
    if annotation is str and isinstance(value, str):
        return str(value)
    if annotation is Path and info.path_type is None and isinstance(value, (str, Path)):
        # pydantic's Path of a str is Path(str); the checks after it are typer's own
        return _coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    raise LookupError  # not a plain kind: typer's coercion


if _RuntimeParam is not None:
    @dataclass(frozen=True)
    class _PlainParam(_RuntimeParam):
        def _coerce_value(self, value, param, ctx):
            try:
                return _plain_value(self.annotation, self.parameter_info, value, param, ctx)
            except Exception:  # noqa: BLE001 — typer's coercion says it, exactly as without this
                pass
            return _typer_coercion(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)


def _plain_coercion(params) -> None:
    if _RuntimeParam is None:
        return
    for p in params:
        desc = getattr(p, "type_descriptor", None)
        if (isinstance(p, _TyperParameter) and p._runtime_param is None and desc is not None
                and desc.file_annotation is None and get_origin(desc.annotation) is None
                and (desc.parameter_info.parser is not None or desc.annotation in (bool, str, Path))):
            p._runtime_param = _PlainParam(parameter_info=desc.parameter_info, annotation=desc.annotation)


class ZhCommand(TyperCommand):
    """A command whose help page is Chinese (render.help_page)."""

    def format_help(self, ctx, formatter) -> None:
        formatter.write(render.help_page(self, ctx))

    def get_params(self, ctx):
        params = super().get_params(ctx)
        _plain_coercion(params)
        return params


class ZhGroup(TyperGroup):
    def format_help(self, ctx, formatter) -> None:
        formatter.write(render.help_page(self, ctx))

    def get_params(self, ctx):
        params = super().get_params(ctx)
        _plain_coercion(params)
        return params


def _after_later(attr: str) -> property:
    def get(self):
        self._load_later()
        return getattr(self, attr)

    def put(self, value) -> None:
        setattr(self, attr, value)

    return property(get, put)


class ZhTyper(typer.Typer):
    """Every command registered on the app — here or by a module that imports it — speaks Chinese.
    The modules given to register_later add their commands the first time the app's commands are
    read (typer building the app, or one of them registering), not when this module is imported."""

    _later: tuple[str, ...] = ()

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or ZhCommand, **kwargs)

    def register_later(self, *modules: str) -> None:
        self._later = modules

    def _load_later(self) -> None:
        later, self._later = self._later, ()
        for name in later:  # in this order, whichever of them was imported first
            importlib.import_module(name)

    # typer reads (and sets) these two lists: reading either loads the later modules first
    registered_commands = _after_later("_commands")
    registered_groups = _after_later("_groups")


_APP = dict(cls=ZhGroup, add_completion=False, no_args_is_help=True,
            context_settings={"help_option_names": ["--help", "-h"]},
            help="部门（单位）整体支出绩效自评表：汇总、审核与问题标注。")
app = ZhTyper(**_APP)


# ---------------------------------------------------------------- option values, said in Chinese
def _count(text: str) -> int:
    try:
        n = int(str(text).strip())
    except ValueError:
        raise typer.BadParameter(f"应为不小于 0 的整数（0 = 全部 CPU 核），而不是“{text}”") from None
    if n < 0:
        raise typer.BadParameter(f"不能为负数（{text}）：应为不小于 0 的整数，0 = 全部 CPU 核")
    return n


def _megabytes(text: str) -> int:
    try:
        n = int(str(text).strip())
    except ValueError:
        n = 0
    if n <= 0:
        raise typer.BadParameter(f"应为正整数（MB），而不是“{text}”")
    return n


def _seconds(text: str) -> float:
    try:
        s = float(str(text).strip())
    except ValueError:
        s = 0.0
    if not s > 0 or s == float("inf"):
        raise typer.BadParameter(f"应为大于 0 的秒数，而不是“{text}”")
    return s


def _level(text: str) -> str:
    if text not in FAIL_LEVELS:
        raise typer.BadParameter(f"应为 error、warning、info 或 none，而不是“{text}”")
    return text


def _tolerance(text: str) -> str:
    try:
        parse_tolerance(text, "容差")
    except UsageError as exc:
        raise typer.BadParameter(str(exc)) from None
    return str(text).strip()


def _exit_code(report, fail_on: str) -> int:
    if report.rejected:
        return 2
    levels = FAIL_LEVELS[fail_on]
    return 1 if any(f.severity in levels for f in report.findings) else 0


# ---------------------------------------------------------------- folders checked before a run
def _check_inbox(inbox: Path) -> None:
    if inbox.is_dir():
        try:
            next(os.scandir(inbox), None)
        except OSError:
            raise InboxError(f"无法读取输入文件夹 {inbox}（没有读取权限或已断开）") from None
        return
    if inbox.is_file():
        raise InboxError(f"{inbox} 是一个文件，而 run 需要存放报送文件的文件夹：请给出它所在的文件夹，"
                         f"或用 selfeval check \"{inbox}\" 审核这一个文件")
    if inbox.exists():
        raise InboxError(f"{inbox} 不是文件夹：run 需要存放报送文件的文件夹")
    raise InboxError(f"找不到输入文件夹：{inbox}")


def _check_out(out: Path) -> None:
    """OUT must be a folder (or not exist yet) on a writable disk with room. Nothing is written here:
    the run creates OUT itself (and refuses places it must not write to)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"输出位置 {out} 是一个已有的文件，不是文件夹：请用 --out 指定一个文件夹"
                          "（不存在时会自动创建）")
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"输出位置 {out} 无法创建：其中的 {probe} 是文件，不是文件夹")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"无法写入输出位置 {out}：{probe} 没有写入权限或在只读磁盘上，"
                          "请用 --out 另选一个文件夹")
    if shutil.disk_usage(probe).free < 64 << 10:
        raise OutputError(f"输出位置 {out} 所在的磁盘已满：请腾出空间或用 --out 另选一个文件夹")


def _check_labels_env() -> None:
    """A synonym table given through SELFEVAL_RULES is checked before any worker reads with it."""
    if os.environ.get("SELFEVAL_RULES"):
        check_labels()


def _rules_arg(rules: Optional[Path]) -> Optional[str]:
    return str(rules) if rules else None


# ---------------------------------------------------------------- commands
@app.command()
def run(inbox: Path = typer.Argument(..., metavar="INBOX", help="报送文件所在文件夹（含子文件夹）"),
        out: Path = typer.Option(Path("output"), "--out", "-o", metavar="OUT", help="输出文件夹"),
        jobs: int = typer.Option(0, "--jobs", "-j", metavar="N", parser=_count,
                                 help="读取进程数（0 = 全部 CPU 核）"),
        fail_on: str = typer.Option("error", "--fail-on", metavar="级别", parser=_level,
                                    help="达到哪一级问题时退出码为 1：error | warning | info | none"),
        rules: Optional[Path] = typer.Option(None, "--rules", metavar="文件",
                                             help="规则文件（默认：随程序安装的规则包）"),
        tolerance: Optional[str] = typer.Option(None, "--tolerance", metavar="万元", parser=_tolerance,
                                                help="尾差容差（万元，不小于 0），默认取规则文件"),
        returns: bool = typer.Option(True, "--returns/--no-returns", help="是否生成退回单位的标注表"),
        all_returns: bool = typer.Option(False, "--all-returns", help="没有问题的表也生成退回件"),
        timeout: float = typer.Option(DEFAULT_TIMEOUT, "--timeout", metavar="秒", parser=_seconds,
                                      help="单个文件读取时限（秒）"),
        memory_mb: int = typer.Option(DEFAULT_MEMORY_MB, "--memory-mb", metavar="MB", parser=_megabytes,
                                      help="每个读取进程的内存上限（MB）"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="只输出结果摘要"),
        store: Optional[str] = typer.Option(None, "--store", metavar="库",
                                            help="收集库：文件路径或 postgresql+psycopg://…（默认 OUT 所在文件夹的 selfeval.db；none = 不记录）")) -> None:
    """汇总审核 INBOX 下的全部自评表，结果写入 OUT。"""
    from . import collect_cli
    from .run import check_paths, run as run_batch

    _check_inbox(inbox)
    check_paths(inbox, out)  # before anything is written: the store sits beside OUT
    _check_out(out)
    _state["out"] = out
    _check_labels_env()
    load_pack(_rules_arg(rules), tolerance)  # a bad rule file is said before any file is read
    with collect_cli.recording(store, inbox, out, _rules_arg(rules), tolerance) as on_chunk, \
            render.RunProgress(quiet) as progress:
        report = run_batch(inbox, out, jobs=jobs, rules=_rules_arg(rules), tolerance=tolerance,
                           returns=returns, every_return=all_returns, timeout=timeout,
                           memory_mb=memory_mb, on_file=progress.file_done,
                           on_stage=progress.stage, on_discovered=progress.discovered,
                           on_chunk=on_chunk)
    render.run_summary(report)
    raise typer.Exit(_exit_code(report, fail_on))


def _check_file_arg(file: Path) -> None:
    if file.is_dir():
        raise InboxError(f"{file} 是一个文件夹，而这里需要一个自评表文件：审核整个文件夹请用 "
                         f"selfeval run \"{file}\" --out 输出")
    if not file.exists():
        raise InboxError(f"找不到文件：{file}")


@app.command()
def check(file: Path = typer.Argument(..., metavar="FILE", help="一个自评表文件"),
          fail_on: str = typer.Option("error", "--fail-on", metavar="级别", parser=_level,
                                      help="达到哪一级问题时退出码为 1：error | warning | info | none"),
          rules: Optional[Path] = typer.Option(None, "--rules", metavar="文件", help="规则文件"),
          tolerance: Optional[str] = typer.Option(None, "--tolerance", metavar="万元", parser=_tolerance,
                                                  help="尾差容差（万元，不小于 0）")) -> None:
    """审核一个文件，在终端列出问题。"""
    from .single import check_file

    _check_file_arg(file)
    _check_labels_env()
    report = check_file(file, rules=_rules_arg(rules), tolerance=tolerance)
    render.check_result(report)
    raise typer.Exit(_exit_code(report, fail_on))


@app.command()
def inspect(file: Path = typer.Argument(..., metavar="FILE", help="一个自评表文件")) -> None:
    """显示读取结果：找到的表格、各行、金额及其单元格、换算和问题。"""
    from .single import read_one

    _check_file_arg(file)
    _check_labels_env()
    result = read_one(file)
    render.inspect_result(result)
    raise typer.Exit(0 if result.status == "accepted" else 2)


@app.command("rules")
def list_rules(rules: Optional[Path] = typer.Option(None, "--rules", metavar="文件",
                                                    help="列出这个规则文件（默认：正在使用的规则包）"),
               export: Optional[Path] = typer.Option(None, "--export", metavar="文件",
                                                     help="把默认规则包写到这个文件（同义词表 labels.toml 写在它旁边），供修改"),
               check_: Optional[Path] = typer.Option(None, "--check", metavar="文件",
                                                     help="检查修改过的规则文件（及旁边的 labels.toml）能否使用"),
               force: bool = typer.Option(False, "--force", help="导出时覆盖已有的文件")) -> None:
    """列出规则包中的全部规则；导出默认规则包供修改，或检查修改后的规则文件。"""
    if export is not None and check_ is not None:
        raise UsageError("--export 和 --check 一次只能用一个")
    if export is not None:
        _export_pack(export, force)
    elif check_ is not None:
        _check_pack(check_)
    else:
        _check_labels_env()
        render.rules_table(load_pack(_rules_arg(rules)))


def _export_pack(target: Path, force: bool) -> None:
    from importlib.resources import files

    bundled = Path(str(files("pipeline") / "rules"))
    if target.is_dir():
        target = target / "rules.toml"
    labels = target.with_name("labels.toml")
    if labels == target:
        raise UsageError("导出的规则文件不能命名为 labels.toml（这是同义词表的名字），请换一个文件名")
    existing = [p for p in (target, labels) if p.exists()]
    if existing and not force:
        raise UsageError(f"{'、'.join(map(str, existing))} 已存在：为免覆盖已修改的规则，"
                         "请换一个位置，或加 --force 覆盖")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((bundled / "rules.toml").read_bytes())
        labels.write_bytes((bundled / "labels.toml").read_bytes())
    except OSError as exc:
        raise OutputError(f"无法写入 {target}：{os_reason(exc)}") from None
    render.console.print(f"已导出规则包：{render.escape(str(target))}\n"
                         f"已导出同义词表：{render.escape(str(labels))}\n"
                         f"修改后检查：selfeval rules --check \"{render.escape(str(target))}\"\n"
                         f"使用：selfeval run 收件箱 --out 输出 --rules \"{render.escape(str(target))}\"，"
                         f"或设置环境变量 SELFEVAL_RULES={render.escape(str(target.parent))}"
                         "（规则包和同义词表一起生效）")


def _check_pack(path: Path) -> None:
    if path.is_dir():
        path = path / "rules.toml"
    pack = load_pack(path)
    entries = read_toml(path, "规则文件").get("rules", [])
    labels = path.with_name("labels.toml")
    labels_note = ""
    if labels.exists():
        check_labels(labels)
        labels_note = f"；同义词表 {labels} 可用"
    render.console.print(f"[green]规则文件可用：{render.escape(str(path))}[/]\n"
                         f"{render.escape(pack.name)}（版本 {render.escape(pack.version)}），"
                         f"共 {len(entries)} 条规则，启用 {len(pack.rules)} 条，"
                         f"容差 {pack.tolerance} 万元{render.escape(labels_note)}")


# ---------------------------------------------------------------- every ending → a Chinese line and a code
_EDQUOT, _EROFS = getattr(errno, "EDQUOT", -1), getattr(errno, "EROFS", -2)  # not on every platform


def _output_failure(exc: OSError) -> str | None:
    """A disk that is full, read-only or closed to us while writing OUT is the user's to fix."""
    out = _state["out"]
    if exc.errno in (errno.ENOSPC, _EDQUOT):
        return f"磁盘空间不足，输出没有写完：{os_reason(exc)}。请腾出空间后重新运行"
    if out is not None and exc.errno in (_EROFS, errno.EACCES, errno.EPERM) and exc.filename:
        try:
            Path(os.fsdecode(exc.filename)).resolve().relative_to(Path(out).resolve())
        except ValueError:
            return None
        return f"无法写入输出文件夹 {out}：{os_reason(exc)}。请用 --out 另选一个文件夹"
    return None


def _write_log(exc: BaseException) -> str | None:
    lines = [f"==== {dt.datetime.now().isoformat(timespec='seconds')} selfeval "
             f"(Python {platform.python_version()}, {platform.platform()})\n",
             f"argv: {sys.argv!r}\n", *traceback.format_exception(exc), "\n"]
    places = []
    out = _state["out"]
    if out is not None and Path(out).is_dir():
        places.append(Path(out) / _LOG_NAME)
    places.append(Path(tempfile.gettempdir()) / f"selfeval-error-{dt.datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log")
    for place in places:
        try:
            with open(place, "a", encoding="utf-8") as fh:
                fh.writelines(lines)
            return str(place)
        except OSError:
            continue
    return None


def _ending(exc: BaseException, args: list[str] | None = None) -> int:
    kinds = {k.__name__ for k in type(exc).__mro__}
    if "NoArgsIsHelpError" in kinds and getattr(exc, "ctx", None) is not None:
        render.console.print(render.escape(exc.ctx.get_help()))
        return 2
    if "ClickException" in kinds:  # typer's (vendored click) or click's own: a wrong command line
        words = [a for a in (args if args is not None else sys.argv[1:]) if not a.startswith("-")]
        known = {c.name for c in app.registered_commands if c.name} | {
            c.callback.__name__ for c in app.registered_commands if c.callback and not c.name}
        render.usage_error(exc, "selfeval" + (f" {words[0]}" if words and words[0] in known else ""))
        return 2
    if isinstance(exc, RuleFileError):
        env = os.environ.get("SELFEVAL_RULES")
        text = str(exc)
        render.failure("规则文件有误：" + (text[4:].lstrip() if text.startswith("规则文件 ") else text)
                       + (f"（规则包位置来自环境变量 SELFEVAL_RULES={env}）" if env else ""))
        return exc.exit_code
    if isinstance(exc, SelfevalError):
        render.failure(str(exc))
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt) or "Abort" in kinds:
        return 130  # main says 已中断
    if isinstance(exc, BrokenPipeError):  # `selfeval … | more` closed early: nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    if isinstance(exc, OSError) and (message := _output_failure(exc)):
        render.failure(message)
        return 2
    render.crash(_write_log(exc))
    return 4


def main(args: list[str] | None = None) -> None:
    """The console script: never a traceback on screen, always a documented exit code."""
    _state["out"] = None
    if not sys.warnoptions:  # libraries' warnings are English and not the user's to act on: off,
        warnings.simplefilter("ignore")  # here and in the reader processes (unless -W/PYTHONWARNINGS)
        os.environ["PYTHONWARNINGS"] = "ignore"
    for stream in (sys.stdout, sys.stderr):  # a GBK console or file never fails on a character
        if hasattr(stream, "reconfigure") and stream.encoding.lower().replace("-", "") != "utf8":
            stream.reconfigure(errors="replace")
    try:
        if (sys.argv[1:] if args is None else list(args))[:1] == ["check"]:
            code = _only(check)(args=args, prog_name="selfeval", standalone_mode=False)
        else:
            code = app(args=args, prog_name="selfeval", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
    except BaseException as exc:  # noqa: BLE001 — every ending is said in Chinese
        code = _ending(exc, args)
    if code == 130:
        render.failure("已中断")
    sys.exit(code if isinstance(code, int) else 0)


def _only(callback):
    """The app holding just this one of its commands, the same group around it: `selfeval check
    FILE` is parsed, helped and refused exactly as by the whole app, without building the other
    commands or importing the collection's and the web desk's modules (~0.05 s of each check)."""
    one = ZhTyper(**_APP)
    one.registered_commands = [c for c in app._commands if c.callback is callback]
    return get_group(one)


# the collection's commands (roster, status, accept, …) and the web desk's (serve, user)
app.register_later("pipeline.collect_cli", "pipeline.web.cli")

if __name__ == "__main__":  # python -m pipeline.cli: run the module the other command modules register on
    from pipeline.cli import main as _main

    _main()
