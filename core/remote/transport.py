"""A WebSocket connection used from synchronous code, with every socket and TLS operation on one thread.

Why not ``websockets.sync``: its connection reads the socket in a background thread while the caller's
thread writes to it. Over TLS that puts ``SSL_read`` and ``SSL_write`` on one OpenSSL connection in two
threads at once, which OpenSSL does not support (an ``SSL`` object must not be used by several threads
concurrently; CPython only began serialising this in 3.13, see python/cpython#137583). A fresh-machine CI
run under load once waited the whole 60 s ``open_timeout`` for a handshake response from a healthy TLS
worker (issue 11, defect 1). Here a private asyncio event loop in one daemon thread owns the connection
(``websockets.asyncio.client``: TLS through asyncio's memory-BIO ``SSLProtocol``, so reads and writes happen
on that thread only), and the caller's thread only hands it coroutines and waits for them with a deadline.

Every call has a deadline: :meth:`AsyncioWebSocket.connect`, :meth:`send`, :meth:`recv` and :meth:`close`
return or raise within their timeout (plus scheduling), whatever the peer does — a peer that accepts TCP
and never speaks TLS, one that finishes TLS and never answers the upgrade, one that stops reading.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
import threading
from typing import Any

#: Seconds a :meth:`AsyncioWebSocket.send` may wait for the peer to take the data (TCP window full).
SEND_TIMEOUT_S = 30.0


class AsyncioWebSocket:
    """One client WebSocket connection, driven from synchronous code.

    Args:
        url: ``ws://`` or ``wss://`` URL.
        headers: extra HTTP headers of the opening handshake (e.g. ``Authorization``).
        ssl_context: for ``wss://`` (None: ``ws://``).
        open_timeout: seconds for TCP connect + TLS handshake + WebSocket handshake, all together.
        close_timeout: seconds for the closing handshake.
        max_size: largest incoming message in bytes.
        user_agent: the ``User-Agent`` header.
        ping_interval: seconds between keepalive pings (None: none); the connection is closed when a pong
            is not back within ``ping_interval`` seconds.

    Raises (from :meth:`connect`): ``TimeoutError`` (deadline passed), ``OSError`` (refused, unreachable,
    TLS failure — ``ssl.SSLError`` is an ``OSError``), ``websockets.exceptions.InvalidStatus`` (the server
    refused the upgrade with an HTTP status), other ``websockets.exceptions.WebSocketException``.
    """

    def __init__(self, url: str, *, headers: dict[str, str] | None = None, ssl_context: ssl.SSLContext | None = None,
                 open_timeout: float = 5.0, close_timeout: float = 2.0, max_size: int = 2**20,
                 user_agent: str = "PoseWatch", ping_interval: float | None = 20.0):
        self.url = url
        self.headers = dict(headers or {})
        self.ssl_context = ssl_context
        self.open_timeout = float(open_timeout)
        self.close_timeout = float(close_timeout)
        self.max_size = int(max_size)
        self.user_agent = user_agent
        self.ping_interval = ping_interval
        self._ws = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------------------------- loop thread
    def _start_loop(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="pw-websocket", daemon=True)
        self._thread.start()
        ready.wait()
        self._loop = loop

    def _stop_loop(self) -> None:
        loop, th = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and th is not None:
            loop.call_soon_threadsafe(loop.stop)
            if th is not threading.current_thread():
                th.join(5.0)

    def _call(self, coro, timeout: float) -> Any:
        """Run ``coro`` on the loop thread and wait at most ``timeout`` seconds (plus 1 s of scheduling slack:
        the coroutine carries its own ``asyncio.timeout``; this outer wait only guards a stalled loop)."""
        if self._loop is None:
            coro.close()
            raise ConnectionError("connection is closed")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout + 1.0)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise TimeoutError(f"no answer within {timeout:g} s") from None
        except concurrent.futures.CancelledError:
            raise ConnectionError("connection is closed") from None

    # ---------------------------------------------------------------------------------- API
    def connect(self) -> "AsyncioWebSocket":
        """Open the connection (see the class for the errors). Returns ``self``."""
        from websockets.asyncio.client import connect

        self._start_loop()

        async def open_():
            async with asyncio.timeout(self.open_timeout):
                return await connect(self.url, additional_headers=self.headers, ssl=self.ssl_context,
                                     compression=None, proxy=None, open_timeout=None,
                                     close_timeout=self.close_timeout, max_size=self.max_size,
                                     user_agent_header=self.user_agent, ping_interval=self.ping_interval,
                                     ping_timeout=self.ping_interval)

        try:
            self._ws = self._call(open_(), self.open_timeout)
        except BaseException:
            self._stop_loop()
            raise
        return self

    def send(self, data: str | bytes, timeout: float = SEND_TIMEOUT_S) -> None:
        """Send one message (text for ``str``, binary for ``bytes``).

        Raises:
            TimeoutError: the peer did not take it within ``timeout`` s; ConnectionError: closed here;
            websockets.exceptions.ConnectionClosed: closed by the peer or lost.
        """
        ws = self._ws
        if ws is None:
            raise ConnectionError("connection is closed")

        async def send_():
            async with asyncio.timeout(timeout):
                await ws.send(data)

        self._call(send_(), timeout)

    def recv(self, timeout: float) -> str | bytes:
        """The next message, waiting at most ``timeout`` seconds.

        Raises:
            TimeoutError: nothing arrived in time; ConnectionError: closed here;
            websockets.exceptions.ConnectionClosed: closed by the peer or lost.
        """
        ws = self._ws
        if ws is None:
            raise ConnectionError("connection is closed")

        async def recv_():
            async with asyncio.timeout(timeout):
                return await ws.recv()

        return self._call(recv_(), timeout)

    def close(self) -> None:
        """Closing handshake (at most ``close_timeout`` s), then stop the loop thread. Never raises."""
        ws, self._ws = self._ws, None
        if ws is not None and self._thread is threading.current_thread():  # e.g. collected on the loop thread
            ws.transport.abort()
        elif ws is not None and self._loop is not None:
            async def close_():
                try:
                    async with asyncio.timeout(self.close_timeout + 0.5):
                        await ws.close()
                except (TimeoutError, OSError):
                    ws.transport.abort()

            try:
                self._call(close_(), self.close_timeout + 0.5)
            except Exception:
                pass
        self._stop_loop()

    def __del__(self):  # a forgotten connection must not leave its loop thread behind
        try:
            if self._loop is not None:
                self.close()
        except Exception:
            pass
