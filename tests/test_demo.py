"""README's run command without a token: the demo, driven through its terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_admin_invites_and_focal_point_registers(tmp_path: Path) -> None:
    script = "/invite huyen-muong-te\n:as focal\n:open\n/whoami\n:quit\n"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        input=script,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "https://t.me/vstbpn_demo_bot?start=" in out
    assert "đã được đăng ký làm đầu mối của Huyện Mường Tè" in out
    assert "Đầu mối của: Huyện Mường Tè (huyen-muong-te)" in out
    assert "tôi chưa hiểu" not in out  # every command was understood
    assert (tmp_path / "data" / "demo.sqlite3").exists()
    assert "Traceback" not in result.stderr
