"""Whether a printed link can be opened from a phone: one on a loopback address cannot.

`make run` serves on 127.0.0.1 and PUBLIC_URL defaults to it, which is right
for trying minyi on one computer and wrong for anything printed: a phone that
scans such a code opens its own 127.0.0.1. The console and `minyi posters`
warn before printing such codes.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def _resolves_to_loopback(host: str) -> bool:
    """This machine's own name: Debian maps it to 127.0.1.1 in /etc/hosts."""
    names = {socket.gethostname().lower(), socket.gethostname().split(".")[0].lower()}
    if host not in names:
        return False
    try:
        found = socket.getaddrinfo(host, None)
    except OSError:
        return False
    addresses = {str(info[4][0]) for info in found}
    return bool(addresses) and all(_is_loopback_ip(a) for a in addresses)


def _is_loopback_ip(text: str) -> bool:
    try:
        ip = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def loopback_host(url: str) -> str | None:
    """The host of `url` when phones cannot reach it (127.0.0.0/8, ::1, 0.0.0.0, localhost,
    this machine's own name where it maps to those); None when it looks reachable."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return None
    if host == "localhost" or host.endswith(".localhost") or _is_loopback_ip(host):
        return host
    return host if _resolves_to_loopback(host) else None


def warning(public_url: str, port: int) -> str | None:
    """What to tell whoever prints codes for `public_url` (Chinese, then English), or None."""
    host = loopback_host(public_url)
    if host is None:
        return None
    return (
        f"二维码和海报上的链接指向本机地址（{host}），别人的手机扫码后打不开。"
        f"请先设置 HOST=0.0.0.0 和 PUBLIC_URL=http://<本机局域网IP>:{port}"
        "（正式部署请设为群众能访问的域名，如 https://minyi.example.gov.cn），重启 minyi 后再打印。\n"
        f"The links on these QR codes point at this computer ({host}); a phone that scans them "
        f"cannot open them. Set HOST=0.0.0.0 and PUBLIC_URL=http://<this computer's LAN IP>:{port} "
        "(in production, the address citizens reach), restart minyi, then print."
    )
