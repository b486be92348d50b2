"""`selfeval serve` over HTTPS as a bureau runs it: with its own certificate (--cert/--key, a
self-signed one made with openssl here) and behind a TLS reverse proxy (--https, X-Forwarded-*
trusted from FORWARDED_ALLOW_IPS only). Real requests to a server in its own process."""
from __future__ import annotations

import shutil
import ssl
import subprocess
import sys

import httpx
import pytest

from web_support import PASSWORD, ROOT, Serve, csrf_of, make_store, seed_form

from pipeline import collect as C
from pipeline.store import desk as D

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl 不可用")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def _cookie(r: httpx.Response) -> str:
    (set_cookie,) = [v for k, v in r.headers.multi_items() if k == "set-cookie"]
    return set_cookie


def _audit(url: str, action: str) -> list[dict]:
    st = C.open_store(url)
    with st.transaction() as tx:
        rows = [r for r in D.audit_rows(tx, 100) if r["action"] == action]
    st.close()
    return rows


def test_serve_with_its_own_certificate(tmp_path, cert):
    url = make_store(tmp_path)
    crt, key = cert
    with Serve(url, tmp_path / "work", "--cert", str(crt), "--key", str(key), scheme="https",
               verify=ssl.create_default_context(cafile=str(crt))) as srv:
        c = srv.client()       # verifies the server against the certificate: a real TLS connection
        page = c.get("/login")
        assert page.status_code == 200 and "登录" in page.text
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        r = c.post("/login", data={"csrf": csrf_of(page.text), "name": "unit1", "password": PASSWORD})
        assert r.status_code == 303
        cookie = _cookie(r)
        assert cookie.startswith("selfeval_session=")
        assert "; secure" in cookie.lower() and "; httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        # signed in over HTTPS, the flow works: an upload and its findings
        home = c.get("/unit")
        assert home.status_code == 200
        r = c.post("/unit/upload", data={"csrf": csrf_of(home.text)},
                   files={"file": ("自评表.xlsx", seed_form().read_bytes(), "application/octet-stream")})
        assert r.status_code == 303 and r.headers["location"].startswith("/unit/draft/")
        assert "NAR-001" in c.get(r.headers["location"]).text
        # the same port without TLS gets no page
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{srv.port}/login", timeout=5)
        # a client that does not trust the certificate is refused at the handshake
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{srv.base}/login", timeout=5)
    assert f"网上报送服务：https://127.0.0.1:{srv.port}/" in srv.log
    assert "Traceback" not in srv.log


class Proxied:
    """Requests as a TLS proxy passes them on: plain http from 127.0.0.1 with X-Forwarded-*. The
    session cookie is Secure, which httpx (like a browser) keeps off plain http: sent by hand."""

    def __init__(self, srv, **headers):
        self.base, self.headers, self.session = srv.base, headers, ""

    def __call__(self, method, path, **kw):
        headers = {**self.headers, **kw.pop("headers", {})}
        if self.session:
            headers["cookie"] = self.session
        r = httpx.request(method, self.base + path, headers=headers, timeout=60, **kw)
        if "set-cookie" in r.headers:
            self.session = _cookie(r).split(";")[0]
        return r


def test_behind_a_tls_proxy(tmp_path):
    url = make_store(tmp_path)
    with Serve(url, tmp_path / "work", "--https") as srv:
        go = Proxied(srv, **{"x-forwarded-proto": "https", "x-forwarded-for": "10.1.2.3",
                            "x-forwarded-host": "zwpj.example.gov.cn"})
        page = go("GET", "/login")
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        assert "; secure" in _cookie(page).lower()
        # the proxy passes its upstream address as Host; the browser's Origin is the public name
        r = go("POST", "/login", headers={"origin": "https://zwpj.example.gov.cn"},
               data={"csrf": csrf_of(page.text), "name": "unit1", "password": PASSWORD})
        assert r.status_code == 303, r.text[:300]
        cookie = _cookie(r)
        assert "; secure" in cookie.lower() and "; httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        home = go("GET", "/unit")
        assert home.status_code == 200 and "本单位报送" in home.text
        # another site's Origin is still refused
        r = go("POST", "/logout", headers={"origin": "https://evil.example"}, data={"csrf": csrf_of(home.text)})
        assert r.status_code == 403 and "跨站请求已拒绝" in r.text
        r = go("POST", "/logout", headers={"origin": "https://zwpj.example.gov.cn"}, data={"csrf": csrf_of(home.text)})
        assert r.status_code == 303 and r.headers["location"] == "/login"
    # the forwarded client address is the one recorded
    assert [r["ip"] for r in _audit(url, "sign-in")] == ["10.1.2.3"]
    assert [r["ip"] for r in _audit(url, "sign-out")] == ["10.1.2.3"]
    assert "网上报送服务：https://127.0.0.1:" in srv.log and "（经 HTTPS 反向代理访问）" in srv.log


def test_forwarded_headers_from_an_untrusted_address_are_ignored(tmp_path):
    url = make_store(tmp_path)
    with Serve(url, tmp_path / "work", "--https", env={"FORWARDED_ALLOW_IPS": "10.9.9.9"}) as srv:
        go = Proxied(srv, **{"x-forwarded-proto": "https", "x-forwarded-for": "10.1.2.3"})
        page = go("GET", "/login")
        assert "strict-transport-security" not in page.headers      # the scheme stays http
        r = go("POST", "/login", data={"csrf": csrf_of(page.text), "name": "unit1", "password": PASSWORD})
        assert r.status_code == 303
        assert "; secure" in _cookie(r).lower()     # --https: the cookie goes over HTTPS only all the same
    assert [r["ip"] for r in _audit(url, "sign-in")] == ["127.0.0.1"]


def test_without_https_forwarded_headers_count_for_nothing(tmp_path):
    url = make_store(tmp_path)
    proxy = {"x-forwarded-proto": "https", "x-forwarded-for": "10.1.2.3", "x-forwarded-host": "zwpj.example.gov.cn"}
    with Serve(url, tmp_path / "work") as srv:
        c = srv.client()
        page = c.get("/login", headers=proxy)
        assert "strict-transport-security" not in page.headers
        r = c.post("/login", headers={**proxy, "origin": "https://zwpj.example.gov.cn"},
                   data={"csrf": csrf_of(page.text), "name": "unit1", "password": PASSWORD})
        assert r.status_code == 403 and "跨站请求已拒绝" in r.text
        r = c.post("/login", headers=proxy, data={"csrf": csrf_of(page.text), "name": "unit1", "password": PASSWORD})
        assert r.status_code == 303
        assert "secure" not in _cookie(r).lower()
    assert [r["ip"] for r in _audit(url, "sign-in")] == ["127.0.0.1"]


@pytest.mark.parametrize("args, message", [
    (["--cert", "{crt}"], "--cert（证书文件）与 --key（私钥文件）须同时给出"),
    (["--cert", "{tmp}/无.pem", "--key", "{key}"], "找不到证书文件"),
    (["--cert", "{key}", "--key", "{crt}"], "无法使用证书"),
])
def test_wrong_certificate_options(tmp_path, cert, args, message):
    crt, key = cert
    url = make_store(tmp_path)
    args = [a.format(crt=crt, key=key, tmp=tmp_path) for a in args]
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "serve", "--store", url, *args],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert message in " ".join(out.stdout.split()), out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
