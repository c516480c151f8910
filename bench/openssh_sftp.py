"""OpenSSH's sshd on loopback, serving SFTP chrooted at a folder, for the invoicing benchmark.

A retailer's SFTP server is OpenSSH (or a managed service) on another machine, so its work
is not orderhub's. The benchmark has to run the server on the same two CPUs; OpenSSH's
``internal-sftp`` costs a fraction of what the asyncssh test server does, so the figures are
closer to orderhub's own. Needs Debian's ``openssh-server`` (installed here when missing and
running as root) and root, for ``ChrootDirectory``.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from orderhub.testing.postgres import free_port

SSHD = "/usr/sbin/sshd"
CHROOT_PARENT = "/srv"  # root's, 0755: sshd accepts a chroot below it (not below /tmp, which all may write to)


def ensure_installed() -> None:
    if Path(SSHD).exists():
        return
    if os.geteuid() != 0:
        raise SystemExit("OpenSSH's sshd is needed (apt-get install openssh-server), or --sftp-server asyncssh")
    print("installing OpenSSH's server (Debian package openssh-server) ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "openssh-server"], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def _cpu_of(pid: int) -> float:
    """CPU seconds of ``pid`` and of its children it has waited for (sshd's sessions, once ended)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def serve(root: str, out: Any, stop: Any) -> None:
    """Run sshd until ``stop`` is set: ``out`` gets the connection settings, then its CPU seconds."""
    if os.geteuid() != 0:
        raise SystemExit("sshd's ChrootDirectory needs root; use --sftp-server asyncssh")
    chroot = Path(root)
    chroot.mkdir(parents=True, exist_ok=True)
    os.chmod(chroot, 0o755)  # sshd refuses a chroot that others may write to
    home = Path(tempfile.mkdtemp(prefix="orderhub-sshd-"))
    try:
        for key in ("host", "client"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / key)], check=True)
        shutil.copyfile(home / "client.pub", home / "authorized_keys")
        fingerprint = subprocess.run(["ssh-keygen", "-lf", str(home / "host.pub")], check=True,
                                     capture_output=True, text=True).stdout.split()[1]
        port = free_port()
        (home / "sshd_config").write_text(f"""ListenAddress 127.0.0.1
Port {port}
HostKey {home / 'host'}
PidFile {home / 'sshd.pid'}
AuthorizedKeysFile {home / 'authorized_keys'}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
ChrootDirectory {chroot}
ForceCommand internal-sftp
""")
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
        sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(home / "sshd_config")], stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if sshd.poll() is not None:
                    raise SystemExit(f"sshd ended at start (exit code {sshd.returncode})") from None
                time.sleep(0.05)
        out.put({"host": "127.0.0.1", "port": port, "username": getpass.getuser(),
                 "key_file": str(home / "client"), "host_key_sha256": fingerprint})
        stop.wait()
        time.sleep(0.5)  # sessions close and are reaped, so their CPU time is counted
        cpu = _cpu_of(sshd.pid)
        sshd.terminate()
        sshd.wait(timeout=10)
        out.put({"cpu_seconds": cpu})
    finally:
        shutil.rmtree(home, ignore_errors=True)
