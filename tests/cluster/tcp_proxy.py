"""A TCP proxy in a thread, to cut one installation off from etcd while the others still
reach it (a network partition on this one machine)."""

from __future__ import annotations

import selectors
import socket
import threading

from tests.cluster.etcd_process import unique_port


class TcpProxy:
    def __init__(self, target_port: int) -> None:
        self.port = unique_port()
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.setblocking(False)
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._cut = False
        self._stop = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut(self) -> None:
        """Drop every connection and refuse new ones until ``restore``."""
        with self._lock:
            self._cut = True
            self._close_all()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)
        with self._lock:
            self._close_all()
        self._listener.close()

    def _close_all(self) -> None:
        for sock in list(self._pairs):
            sock.close()
        self._pairs.clear()

    def _run(self) -> None:
        while not self._stop:
            with self._lock:
                readable = [self._listener, *self._pairs]
            selector = selectors.DefaultSelector()
            for sock in readable:
                if sock.fileno() >= 0:
                    selector.register(sock, selectors.EVENT_READ)
            events = selector.select(timeout=0.05)
            selector.close()
            with self._lock:
                for key, _ in events:
                    ready = key.fileobj
                    if ready is self._listener:
                        self._accept()
                    elif isinstance(ready, socket.socket) and ready in self._pairs:
                        self._forward(ready)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        if self._cut:
            client.close()
            return
        try:
            upstream = socket.create_connection(self._target, timeout=1)
        except OSError:
            client.close()
            return
        self._pairs[client] = upstream
        self._pairs[upstream] = client

    def _forward(self, sock: socket.socket) -> None:
        peer = self._pairs[sock]
        try:
            data = sock.recv(65536)
            if data:
                peer.sendall(data)
                return
        except OSError:
            pass
        for s in (sock, peer):
            self._pairs.pop(s, None)
            s.close()
