"""The HTTP side: a request read into a Bot API method's parameters and files, and answered."""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.botapi_emulator.wire import JSON, _error

if TYPE_CHECKING:
    from tests.botapi_emulator.emulator import BotAPIEmulator

_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "from_chat_id"}
_JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "scope", "entities",
                "link_preview_options", "reply_parameters", "caption_entities"}
_BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification", "protect_content"}


def _coerce(name: str, value: str) -> Any:
    """Form fields arrive as strings; Telegram reads them by the parameter's type."""
    if name in _JSON_FIELDS:
        return json.loads(value)
    if name in _BOOL_FIELDS:
        return value.lower() == "true"
    if name in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _parse(content_type: str, body: bytes, query: str) -> tuple[JSON, dict[str, tuple[str, bytes]]]:
    params: JSON = {k: _coerce(k, v) for k, v in urllib.parse.parse_qsl(query)}
    files: dict[str, tuple[str, bytes]] = {}
    if content_type.startswith("application/json") and body:
        params.update(json.loads(body))
    elif content_type.startswith("application/x-www-form-urlencoded"):
        params.update({k: _coerce(k, v) for k, v in
                       urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)})
    elif content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        for part in message.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[name] = (part.get_filename(), payload)
            else:
                params[name] = _coerce(name, payload.decode())
    return params, files


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A bot killed mid-request (tests that crash it on purpose) is no error of ours.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(emu: BotAPIEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle on, a keep-alive
        # client waits for the delayed ACK (about 40 ms) on every request.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _answer(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # After a "hang" fault the client has gone; there is no one to answer.
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        def _serve(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(url.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            file_prefix = f"/file/bot{emu.token}/"
            if path.startswith(file_prefix):
                data = emu.download(path[len(file_prefix):])
                if data is None:
                    self._answer(404, b'{"ok":false,"error_code":404,"description":"Not Found"}')
                else:
                    self._answer(200, data, "application/octet-stream")
                return
            prefix = f"/bot{emu.token}/"
            if not path.startswith(prefix):
                self._answer(401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}')
                return
            try:
                params, files = _parse(self.headers.get("Content-Type") or "", body, url.query)
            except ValueError as exc:
                status, payload = _error(400, f"Bad Request: can't parse parameters: {exc}")
            else:
                status, payload = emu.call(path[len(prefix):], params, files)
            self._answer(status, json.dumps(payload, ensure_ascii=False).encode())

        do_GET = do_POST = _serve  # noqa: N815

    return Handler
