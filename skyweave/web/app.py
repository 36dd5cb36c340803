"""The joint command view's server: REST, the live WebSocket, metrics and the static page.

Routes (docs/view.md; the OpenAPI spec is served at ``/openapi.json``):

- ``POST /api/login`` {user, password} -> {token, ...}; ``POST /api/logout``; ``GET /api/me``
- ``GET /api/tracks``, ``/api/tracks/{id}``, ``/api/alerts``, ``/api/alerts/{id}``,
  ``/api/history``, ``/api/health`` (any role); ``POST /api/tracks/{id}/identity`` (operator)
- ``GET /api/audit``, ``/api/users``, ``/metrics`` (admin); ``GET /healthz`` (any role)
- ``WS /api/ws?token=...``: a ``snapshot`` frame, then ``delta`` frames (only what changed)

A viewer of nation N is served N's node view, and every item of every answer and frame goes
through :func:`~skyweave.web.picture.visible` for N first (defence in depth: the node already
sends each nation only what it may see). A missing or bad token is 401, a route above the role
403, an item N may not see 404 exactly as one that does not exist; each refusal and each login
goes to the audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
from fastapi import Depends, FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from skyweave import __version__
from skyweave.web.picture import STANDARD_IDENTITIES, visible
from skyweave.web.users import AuditLog, Sessions, User, UserStore
from skyweave.web.replay import IDENTITY_KIND, MAX_SPEED, MIN_SPEED, ReplayCursor, ReplayStore
from skyweave.web.view import NationView, Publisher

STATIC_DIR = Path(__file__).parent / "static"
#: WebSocket close code for a missing, unknown or expired token
WS_UNAUTHORIZED = 4401


class LoginIn(BaseModel):
    user: str = Field(..., max_length=64)
    password: str = Field(..., max_length=1024)


class ReplayIn(BaseModel):
    op: str = Field(..., description="play, pause, seek (to t) or speed")
    t: float | None = Field(None, description="seek: scenario seconds")
    speed: float | None = Field(None, ge=MIN_SPEED, le=MAX_SPEED, description="scenario seconds per wall-clock second")


class IdentityIn(BaseModel):
    sid: str = Field(..., description="MIL-STD-2525 standard identity: " + ", ".join(STANDARD_IDENTITIES))


class Client:
    """One WebSocket viewer: a bounded queue of serialized frames; a viewer that falls behind is
    sent a fresh snapshot instead of the frames it missed."""

    def __init__(self, user: User, maxsize: int = 8):
        self.user = user
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=maxsize)
        self.lagging = False
        self.bytes = 0
        self.frames = 0

    def offer(self, seq: int, data: bytes) -> None:
        if self.lagging:
            return
        try:
            self.queue.put_nowait((seq, data))
        except asyncio.QueueFull:
            self.lagging = True


class ViewServer:
    """The views (one per nation's node), users, sessions and audit log one app serves."""

    def __init__(self, views: dict[str, NationView], users: UserStore, *, sessions: Sessions | None = None,
                 audit: AuditLog | None = None, speed: float = 1.0, frame_interval_s: float = 0.5,
                 classification: str = "UNCLASSIFIED // EXERCISE", replay: ReplayStore | None = None,
                 journal=None):
        self.views = views
        #: a recorded run to replay instead of live views (``skyweave serve --journal``)
        self.replay = replay
        #: a journal being written (:class:`skyweave.node.journal.Journal`): operators' identities go to it
        self.journal = journal
        #: replay: each user's position on the timeline
        self.cursors: dict[str, ReplayCursor] = {}
        self.users = users
        self.sessions = sessions if sessions is not None else Sessions()
        self.audit = audit if audit is not None else AuditLog()
        self.speed = float(speed)
        self.frame_interval_s = float(frame_interval_s)
        self.classification = classification
        self.publishers: dict[str, Publisher] = {}
        self.clients: dict[str, set[Client]] = {}
        self.sent_bytes: Counter = Counter()
        self.sent_frames: Counter = Counter()
        self.refusals: Counter = Counter()
        self.logins: Counter = Counter()
        self.started = time.time()
        self.empty = NationView("---")
        #: alert acknowledgements: user -> alert ids (kept while the server runs)
        self.acks: dict[str, set[str]] = {}
        self._snapshots: dict[str, tuple[int, bytes]] = {}
        self._polled: dict[str, float] = {}
        #: how often (s) the broadcaster looks for a new picture: a picture goes out within this
        #: of its arrival, at most one frame every ``frame_interval_s`` per nation
        self.check_interval_s = min(0.05, self.frame_interval_s)
        self._pub_lock = threading.Lock()

    def view_for(self, nation: str) -> NationView:
        """The view of ``nation``'s own node (an empty one when this server runs none for it)."""
        return self.views.get(nation, self.empty)

    @property
    def nations(self) -> tuple[str, ...]:
        """The nations whose picture this server serves (live views, or a replay's)."""
        return self.replay.nations if self.replay is not None else tuple(sorted(self.views))

    def cursor(self, user: User) -> ReplayCursor:
        """Replay: ``user``'s position on the timeline of their nation's records (one per user)."""
        with self._pub_lock:
            c = self.cursors.get(user.user)
            if c is None or c.nation != user.nation:
                c = self.cursors[user.user] = ReplayCursor(self.replay, user.nation)
            return c

    def view_of(self, user: User):
        """What ``user`` looks at: their nation's live view, or (replay) their place on the timeline."""
        if self.replay is not None:
            c = self.cursor(user)
            c.refresh()
            return c
        return self.view_for(user.nation)

    def record_identity(self, user: User, track_id: str, sid: str, t: float | None) -> None:
        """An operator's standard identity: into the audit log and, with a journal, as an
        ``identity`` record of the user's nation (body: JSON ``track``, ``sid``, ``user``)."""
        self.audit.write("identity_set", user=user.user, nation=user.nation, track=track_id, sid=sid,
                         t=None if t is None else round(float(t), 2), replay=self.replay is not None)
        if self.journal is not None:
            try:
                self.journal.write(user.nation, IDENTITY_KIND, t,
                                   orjson.dumps({"track": track_id, "sid": sid, "user": user.user}).decode())
            except ValueError as e:  # the node has closed its journal (its run ended): the audit log holds it
                self.audit.write("identity_not_journaled", user=user.user, track=track_id, reason=str(e))

    def publisher(self, nation: str) -> Publisher:
        """The one publisher of ``nation``'s frames (made on first use, from any thread)."""
        with self._pub_lock:
            p = self.publishers.get(nation)
            if p is None:
                p = self.publishers[nation] = Publisher(self.view_for(nation), nation, self.speed, self.classification)
                p.poll()
            return p

    def poll_frames(self) -> list[tuple[str, int, bytes]]:
        """Poll every publisher that has viewers: (nation, seq, frame bytes) of each new frame
        (runs off the event loop: the diff and the encoding of a large picture take a while)."""
        out = []
        for nation in self.watched():
            out += self.poll_nation(nation)
        return out

    def watched(self) -> list[str]:
        """The nations that have viewers now."""
        return [n for n, c in list(self.clients.items()) if c]

    def poll_nation(self, nation: str) -> list[tuple[str, int, bytes]]:
        """[(nation, seq, frame bytes)] of ``nation``'s new frame, if one is due (at most one every
        ``frame_interval_s`` of wall clock per nation), else []."""
        pub = self.publisher(nation)
        now = time.monotonic()
        if now - self._polled.get(nation, -1e9) < self.frame_interval_s or not pub.pending():
            return []
        self._polled[nation] = now
        frame = pub.poll()
        return [] if frame is None else [(nation, frame["seq"], encode_frame(frame, nation))]

    def broadcast(self, frames) -> None:
        """Queue each frame of :meth:`poll_frames` for the viewers of its nation."""
        for nation, seq, data in frames:
            for c in list(self.clients.get(nation, ())):
                c.offer(seq, data)

    def snapshot_bytes(self, nation: str) -> tuple[int, bytes]:
        """(seq, bytes) of the full frame a viewer of ``nation`` starts from; viewers who join
        at the same frame share one encoding."""
        pub = self.publisher(nation)
        cached = self._snapshots.get(nation)
        if cached is not None and cached[0] == pub.seq:
            return cached
        frame = pub.snapshot()
        out = (frame["seq"], encode_frame(frame, nation))
        self._snapshots[nation] = out
        return out


def encode_frame(frame: dict, nation: str) -> bytes:
    """A frame as JSON bytes, after checking that it was filtered for ``nation`` and that every
    item in it is releasable to ``nation`` (the last gate before the socket)."""
    if frame.get("nation") != nation:
        raise RuntimeError(f"frame for {frame.get('nation')!r} offered to a viewer of {nation!r}")
    for key in ("tracks", "alerts", "sensors"):
        items = frame.get(key)
        if items and not all(visible(it, nation) for it in items):
            frame = {**frame, key: [it for it in items if visible(it, nation)]}
    moves = frame.get("moves")
    if moves is not None:
        ok = [nation in m for m in moves["markings"]]
        if not all(ok):
            frame = {**frame, "moves": visible_moves(moves, ok)}
    return orjson.dumps(frame)


def visible_moves(moves: dict, ok: list[bool]) -> dict:
    """``moves`` (a delta's columns) without the rows whose marking (``markings[marking[i]]``) is
    not releasable (``ok[k]`` False for marking ``k``)."""
    keep = [i for i, k in enumerate(moves["marking"]) if ok[k]]
    out = {}
    for key, col in moves.items():
        if key == "markings":
            out[key] = [m for m, good in zip(col, ok) if good]
        elif key == "marking":
            renum = {k: j for j, k in enumerate(k for k, good in enumerate(ok) if good)}
            out[key] = [renum[col[i]] for i in keep]
        elif isinstance(col, list):
            out[key] = [col[i] for i in keep]
        else:
            out[key] = col
    return out


def process_figures() -> dict:
    """CPU seconds and resident memory of this process."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rss = 0
    try:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        rss = ru.ru_maxrss * 1024
    return {"cpu_s": ru.ru_utime + ru.ru_stime, "rss_bytes": rss}


def create_app(server: ViewServer) -> FastAPI:
    """The FastAPI app of ``server``; its broadcaster runs while the app is served."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async def broadcaster():
            while True:
                await asyncio.sleep(server.check_interval_s)
                for nation in server.watched():  # each nation's frame goes out as soon as it is made
                    try:
                        if server.publisher(nation).pending():
                            server.broadcast(await asyncio.to_thread(server.poll_nation, nation))
                    except Exception as e:  # a bad frame must not stop the picture for everyone
                        server.audit.write("broadcast_error", error=str(e))

        task = asyncio.create_task(broadcaster())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(title="skyweave joint command view", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # their pages load scripts from outside: nothing may
                  description="The live joint air and missile picture per nation (docs/view.md).")
    app.state.server = server
    bearer = HTTPBearer(auto_error=False)

    def refuse(request: Request, status: int, reason: str, user: User | None = None, detail: str | None = None):
        server.refusals[status] += 1
        server.audit.write("refused", status=status, reason=reason, route=f"{request.method} {request.url.path}",
                           user=user.user if user else None, nation=user.nation if user else None,
                           client=request.client.host if request.client else None)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        raise HTTPException(status_code=status, detail=detail or {401: "not authenticated", 403: "forbidden",
                                                                  404: "not found"}[status], headers=headers)

    def need(role: str):
        def dep(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> User:
            session, why = server.sessions.get(cred.credentials if cred else None)
            if session is None:
                refuse(request, 401, f"token {why}")
            if not session.user.may(role):
                refuse(request, 403, f"role {session.user.role} below {role}", session.user)
            return session.user

        return dep

    viewer, operator, admin = need("viewer"), need("operator"), need("admin")

    @app.post("/api/login", tags=["access"])
    def login(body: LoginIn, request: Request):
        """A bearer token for a user and password (401 otherwise; 403 for a user of a nation this server serves no view of)."""
        user = server.users.verify(body.user, body.password)
        who = request.client.host if request.client else None
        if user is None:
            server.logins["failed"] += 1
            server.audit.write("login_failed", user=body.user, client=who)
            raise HTTPException(status_code=401, detail="bad user or password", headers={"WWW-Authenticate": "Bearer"})
        if user.nation not in server.nations:  # a node serves its own nation's picture, no other
            server.logins["refused"] += 1
            refuse(request, 403, f"nation {user.nation} not served here", user,
                   detail=f"user {user.user!r} belongs to {user.nation}: this server serves the picture of "
                          f"{', '.join(server.nations)} only")
        s = server.sessions.open(user)
        server.logins["ok"] += 1
        server.audit.write("login", user=user.user, nation=user.nation, role=user.role, client=who)
        return {"token": s.token, "user": user.user, "nation": user.nation, "role": user.role,
                "expires": round(s.expires, 3), "classification": server.classification}

    @app.post("/api/logout", tags=["access"])
    def logout(cred: HTTPAuthorizationCredentials | None = Depends(bearer), user: User = Depends(viewer)):
        server.sessions.close(cred.credentials)
        server.audit.write("logout", user=user.user, nation=user.nation)
        return {"ok": True}

    @app.get("/api/me", tags=["access"])
    def me(user: User = Depends(viewer)):
        return {"user": user.user, "nation": user.nation, "role": user.role, "classification": server.classification,
                "speed": server.speed, "replay": server.replay is not None}

    def replay_cursor(request: Request, user: User) -> ReplayCursor:
        if server.replay is None:
            refuse(request, 404, "no replay: this server is live", user,
                   detail="this server serves the live picture, not a recorded run (skyweave serve --journal FILE)")
        return server.cursor(user)

    @app.get("/api/replay", tags=["replay"])
    def replay_info(request: Request, user: User = Depends(viewer)):
        """The replay timeline of the viewer's nation: start and end (scenario s), the UTC epoch,
        the alerts' first times, and this user's place on it (``t``, ``playing``, ``speed``);
        404 when the server is live."""
        return replay_cursor(request, user).info()

    @app.post("/api/replay", tags=["replay"])
    def replay_control(body: ReplayIn, request: Request, user: User = Depends(viewer)):
        """Move this user's place on the timeline: ``play``, ``pause``, ``seek`` (to ``t``), ``speed``
        (0.5-20, with any op); the user's WebSocket follows at once (a seek sends a snapshot)."""
        c = replay_cursor(request, user)
        try:
            return c.control(body.op, body.t, body.speed)
        except ValueError as e:
            raise HTTPException(status_code=422, detail=str(e)) from None

    @app.get("/api/replay/state", tags=["replay"])
    def replay_state(request: Request, t: float = Query(..., description="scenario seconds"),
                     user: User = Depends(viewer)):
        """The picture and alerts of the viewer's nation as recorded at ``t`` (the user's place on
        the timeline does not move)."""
        replay_cursor(request, user)  # 404 when live
        store = server.replay
        idx = store.picture_index(user.nation, t)
        tracks = [it for it in store.tracks(user.nation, idx).values() if visible(it, user.nation)]
        alerts = [it for it in store.alerts(user.nation, t).values() if visible(it, user.nation)]
        return {"nation": user.nation, "t": t, "utc": store.utc(t), "tracks": tracks, "alerts": alerts}

    @app.get("/api/tracks", tags=["picture"])
    def tracks(user: User = Depends(viewer)):
        """The fused tracks of the viewer's nation's picture (only those releasable to it)."""
        st = server.view_of(user).state(user.nation)
        return {"nation": user.nation, "t": st["t"], "utc": st["utc"], "tracks": list(st["tracks"].values())}

    def one(request: Request, user: User, kind: str, item_id: str) -> dict:
        st = server.view_of(user).state(user.nation)
        it = st[kind].get(item_id)
        if it is None:
            view = server.view_of(user)
            exists = item_id in (view.tracks if kind == "tracks" else view.alerts)
            refuse(request, 404, "not releasable to the viewer's nation" if exists else "no such item", user)
        return it

    @app.get("/api/tracks/{track_id}", tags=["picture"])
    def track(track_id: str, request: Request, user: User = Depends(viewer)):
        """One track (404 when there is none the viewer's nation may see)."""
        return one(request, user, "tracks", track_id)

    @app.post("/api/tracks/{track_id}/identity", tags=["picture"])
    def set_identity(track_id: str, body: IdentityIn, request: Request, user: User = Depends(operator)):
        """Set a track's standard identity (operators and admins); written to the audit log and, when
        the server writes a journal, as an ``identity`` record. In a replay it holds on this user's
        timeline only (the recording is not changed)."""
        if body.sid not in STANDARD_IDENTITIES:
            raise HTTPException(status_code=422, detail=f"sid {body.sid!r}: expected one of {', '.join(STANDARD_IDENTITIES)}")
        one(request, user, "tracks", track_id)
        view = server.view_of(user)
        view.set_identity(track_id, body.sid, user.user)
        server.record_identity(user, track_id, body.sid, view.t)
        return {"id": track_id, "sid": body.sid, "sid_source": user.user}

    @app.get("/api/alerts", tags=["picture"])
    def alerts(user: User = Depends(viewer)):
        """The missile-warning alerts of the viewer's nation's node (latest update of each)."""
        st = server.view_of(user).state(user.nation)
        return {"nation": user.nation, "t": st["t"], "utc": st["utc"], "alerts": list(st["alerts"].values())}

    @app.get("/api/alerts/{alert_id}", tags=["picture"])
    def alert(alert_id: str, request: Request, user: User = Depends(viewer)):
        return one(request, user, "alerts", alert_id)

    @app.post("/api/alerts/{alert_id}/ack", tags=["picture"])
    def ack(alert_id: str, request: Request, user: User = Depends(viewer)):
        """Acknowledge an alert for this user (its audible cue stops); written to the audit log."""
        one(request, user, "alerts", alert_id)
        server.acks.setdefault(user.user, set()).add(alert_id)
        server.audit.write("alert_ack", user=user.user, nation=user.nation, alert=alert_id)
        return {"id": alert_id, "acknowledged": True}

    @app.get("/api/acks", tags=["picture"])
    def acks(user: User = Depends(viewer)):
        """The alerts this user has acknowledged (of those the nation may see)."""
        mine = server.acks.get(user.user, set())
        seen = server.view_of(user).state(user.nation)["alerts"]
        return {"acknowledged": sorted(a for a in mine if a in seen)}

    @app.get("/api/history", tags=["picture"])
    def history(request: Request, track: str | None = Query(None, description="one track's trail only"),
                user: User = Depends(viewer)):
        """Track trails ([t, lat, lon, alt] points) and alert updates ([t, time to impact, ellipse semi-major])."""
        h = server.view_of(user).history(user.nation, track)
        if track is not None and not h["tracks"]:
            exists = track in server.view_of(user).tracks
            refuse(request, 404, "not releasable to the viewer's nation" if exists else "no such item", user)
        return {"nation": user.nation, **h}

    @app.get("/api/health", tags=["picture"])
    def health(user: User = Depends(viewer)):
        """The network health panel of the viewer's node: partner links, data age, rejections."""
        return server.view_of(user).health(user.nation)

    @app.get("/api/audit", tags=["admin"])
    def audit(user: User = Depends(admin), limit: int = Query(200, ge=1, le=2000)):
        return {"records": list(server.audit.recent)[-limit:]}

    @app.get("/api/users", tags=["admin"])
    def users(user: User = Depends(admin)):
        return {"users": [{"user": u.user, "nation": u.nation, "role": u.role} for u in server.users.list()]}

    @app.get("/healthz", tags=["operations"])
    def healthz(user: User = Depends(viewer)):
        """Liveness (any role; no picture data): a probe logs in like any other client."""
        return {"status": "ok", "uptime_s": round(time.time() - server.started, 1)}

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics(user: User = Depends(admin)):
        """Prometheus text format: viewers, frames and bytes per nation, each node's picture and gate."""
        return PlainTextResponse(metrics_text(server), media_type="text/plain; version=0.0.4")

    @app.websocket("/api/ws")
    async def ws(websocket: WebSocket, token: str | None = Query(None)):
        session, why = server.sessions.get(token)
        if session is None:
            server.refusals[401] += 1
            server.audit.write("refused", status=401, reason=f"token {why}", route="WS /api/ws",
                               client=websocket.client.host if websocket.client else None)
            await websocket.close(code=WS_UNAUTHORIZED)
            return
        user = session.user
        await websocket.accept()
        if server.replay is not None:
            await replay_ws(websocket, token, user)
            return
        client = Client(user)
        nation = user.nation
        server.clients.setdefault(nation, set()).add(client)  # before the snapshot: no delta after it is missed
        server.audit.write("ws_open", user=user.user, nation=nation)

        async def send(data: bytes):
            await websocket.send_text(data.decode())
            client.bytes += len(data)
            client.frames += 1
            server.sent_bytes[nation] += len(data)
            server.sent_frames[nation] += 1

        async def reader():
            while True:
                msg = await websocket.receive()
                if msg["type"] == "websocket.disconnect":
                    return

        read_task = asyncio.create_task(reader())
        try:
            sent_seq, data = await asyncio.to_thread(server.snapshot_bytes, nation)
            await send(data)
            while True:
                get = asyncio.create_task(client.queue.get())
                done, _ = await asyncio.wait({get, read_task}, return_when=asyncio.FIRST_COMPLETED)
                if read_task in done:
                    get.cancel()
                    break
                seq, data = get.result()
                if client.lagging:
                    while not client.queue.empty():
                        client.queue.get_nowait()
                    client.lagging = False
                    seq, data = await asyncio.to_thread(server.snapshot_bytes, nation)
                elif seq <= sent_seq:  # already in the snapshot it started from
                    continue
                if server.sessions.get(token)[0] is None:  # the session expired or logged out
                    await websocket.close(code=WS_UNAUTHORIZED)
                    break
                await send(data)
                sent_seq = seq
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            read_task.cancel()
            server.clients.get(nation, set()).discard(client)
            server.audit.write("ws_close", user=user.user, nation=nation, frames=client.frames, bytes=client.bytes)

    async def replay_ws(websocket: WebSocket, token: str, user: User):
        """A replay viewer: frames of this user's place on the timeline, as it plays; the socket
        also takes the commands of ``POST /api/replay`` as JSON text ({op, t, speed})."""
        nation = user.nation
        cursor = server.cursor(user)
        pub = Publisher(cursor, nation, server.speed, server.classification)
        wake = asyncio.Event()
        frames = sent = 0
        server.audit.write("ws_open", user=user.user, nation=nation, replay=True)

        async def reader():
            while True:
                msg = await websocket.receive()
                if msg["type"] == "websocket.disconnect":
                    return
                try:
                    cmd = orjson.loads(msg.get("text") or msg.get("bytes") or b"")
                    cursor.control(str(cmd.get("op")), cmd.get("t"), cmd.get("speed"))
                except (ValueError, TypeError, AttributeError) as e:
                    await websocket.send_text(orjson.dumps({"type": "error", "detail": str(e)}).decode())
                wake.set()

        read_task = asyncio.create_task(reader())
        last_info = None
        try:
            def next_frame():  # off the event loop: a large recorded picture takes a while to read and diff
                cursor.refresh()
                return pub.poll(), cursor.info()

            while not read_task.done():
                frame, info = await asyncio.to_thread(next_frame)
                if frame is None and (info["playing"], info["speed"], info["run"]) != last_info:
                    frame = {"type": "delta", "nation": nation, "seq": pub.seq, "t": info["t"],
                             "utc": server.replay.utc(info["t"]), "tracks": [], "removed": [], "alerts": [],
                             "alerts_removed": []}
                if frame is not None:
                    if server.sessions.get(token)[0] is None:
                        await websocket.close(code=WS_UNAUTHORIZED)
                        break
                    frame["replay"] = info
                    last_info = (info["playing"], info["speed"], info["run"])
                    data = await asyncio.to_thread(encode_frame, frame, nation)
                    await websocket.send_text(data.decode())
                    frames += 1
                    sent += len(data)
                    server.sent_bytes[nation] += len(data)
                    server.sent_frames[nation] += 1
                wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(wake.wait(), server.frame_interval_s)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            read_task.cancel()
            server.audit.write("ws_close", user=user.user, nation=nation, frames=frames, bytes=sent, replay=True)

    if (STATIC_DIR / "index.html").is_file():
        from fastapi.staticfiles import StaticFiles

        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    else:
        @app.get("/", include_in_schema=False)
        def no_page():
            return JSONResponse({"detail": "the page is not built (npm run build in web/); the API is at /api"},
                                status_code=404)

    return app


def metrics_text(server: ViewServer) -> str:
    """The Prometheus text exposition of ``server``'s figures."""
    lines = []

    def metric(name: str, kind: str, help_: str, rows):
        lines.append(f"# HELP {name} {help_}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, v in rows:
            lab = ",".join(f'{k}="{val}"' for k, val in labels.items())
            lines.append(f"{name}{{{lab}}} {v}" if lab else f"{name} {v}")

    metric("skyweave_view_clients", "gauge", "WebSocket viewers connected, by nation",
           [({"nation": n}, len(c)) for n, c in sorted(server.clients.items())])
    metric("skyweave_view_frames_sent_total", "counter", "WebSocket frames sent, by viewer nation",
           [({"nation": n}, v) for n, v in sorted(server.sent_frames.items())])
    metric("skyweave_view_bytes_sent_total", "counter", "WebSocket bytes sent, by viewer nation",
           [({"nation": n}, v) for n, v in sorted(server.sent_bytes.items())])
    metric("skyweave_logins_total", "counter", "logins by result", [({"result": k}, v) for k, v in sorted(server.logins.items())])
    metric("skyweave_refusals_total", "counter", "refused requests by HTTP status",
           [({"status": str(k)}, v) for k, v in sorted(server.refusals.items())])
    views = sorted(server.views.items())
    metric("skyweave_node_tracks", "gauge", "fused tracks in each node's picture", [({"node": n}, len(v.tracks)) for n, v in views])
    metric("skyweave_node_alerts_open", "gauge", "open alerts at each node",
           [({"node": n}, sum(1 for a in v.alerts.values() if a.get("open"))) for n, v in views])
    metric("skyweave_node_scenario_time_seconds", "gauge", "each node's scenario clock", [({"node": n}, v.t) for n, v in views])
    metric("skyweave_node_pictures_total", "counter", "fused pictures each view took in", [({"node": n}, v.pictures) for n, v in views])
    metric("skyweave_node_view_dropped_total", "counter", "superseded events the live view skipped",
           [({"node": n}, v.dropped) for n, v in views])
    adm, rej = [], []
    for n, v in views:
        for p, d in sorted(v.partners.items()):
            adm.append(({"node": n, "partner": p}, d["admitted"]))
            for r, k in sorted(d["reasons"].items()):
                rej.append(({"node": n, "partner": p, "reason": r}, k))
    metric("skyweave_node_messages_admitted_total", "counter", "partner messages admitted", adm)
    metric("skyweave_node_messages_rejected_total", "counter", "partner messages rejected, by reason", rej)
    pf = process_figures()
    metric("process_cpu_seconds_total", "counter", "CPU time of the server process", [({}, round(pf["cpu_s"], 3))])
    metric("process_resident_memory_bytes", "gauge", "resident memory of the server process", [({}, pf["rss_bytes"])])
    return "\n".join(lines) + "\n"
