"""Collect a minimal root filesystem for a FROM scratch image: run inside the build stage.

    python3 slim_rootfs.py ROOTFS SITE

Copies the running interpreter, the parts of its standard library a server uses, the
installed packages in SITE, and exactly the shared libraries that ldd says all of these
link (the dynamic loader included), byte-compiled and kept as .pyc only: no sources,
tests, caches, headers, pip or shell. The application is not in it: the Dockerfiles copy
fn/ and model/ as layers of their own, so that a new model or app changes only those.
Works with any base whose Python is 3.11 (Debian's python3 or the python:3.11 images).
"""

from __future__ import annotations

import argparse
import compileall
import os
import py_compile
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

# Standard-library parts a model server never imports.
STDLIB_DROP = {
    "test", "idlelib", "tkinter", "turtledemo", "turtle.py", "ensurepip", "lib2to3", "pydoc_data", "pydoc.py",
    "distutils", "venv", "sqlite3", "curses", "dbm", "xmlrpc", "msilib", "config-3.11-x86_64-linux-gnu",
    "site-packages", "dist-packages", "unittest", "doctest.py", "pdb.py", "lib-dynload/_test*", "lib-dynload/_tkinter*",
    "lib-dynload/_sqlite3*", "lib-dynload/_curses*", "lib-dynload/_dbm*", "lib-dynload/_gdbm*",
    "lib-dynload/_ctypes_test*", "lib-dynload/xxlimited*", "lib-dynload/audioop*", "lib-dynload/_lzma*",
    "lib-dynload/_bz2*", "lib-dynload/_decimal*", "lib-dynload/_ssl*", "lib-dynload/_hashlib*",
    # Interactive, legacy or foreign-protocol modules; nis and readline alone pull in Kerberos,
    # NSL and terminal libraries (3 MB).
    "lib-dynload/nis*", "lib-dynload/readline*", "lib-dynload/_crypt*", "lib-dynload/ossaudiodev*",
    "lib-dynload/_xx*", "lib-dynload/_lsprof*", "lib-dynload/_codecs_*", "lib-dynload/_multibytecodec*",
    "lib-dynload/_asyncio*", "lib-dynload/_multiprocessing*", "lib-dynload/_posixshmem*", "lib-dynload/pyexpat*",
    "asyncio", "multiprocessing", "xml", "mailbox.py", "crypt.py", "nntplib.py", "smtplib.py",
    "imaplib.py", "ftplib.py", "poplib.py", "telnetlib.py", "cgi.py", "cgitb.py", "rlcompleter.py",
}
# Package parts that only tests, builds or type checkers use (numpy's _simd and *_tests
# extension modules included, but _multiarray_tests, which numpy's import documents).
SITE_DROP = re.compile(
    r"(^|/)(tests?|__pycache__|include|f2py|distutils|_pyinstaller|testing/_private)(/|$)|\.(pyi|h|c|pxd|a)$"
    r"|(^|/)_(simd|umath_tests|rational_tests|struct_ufunc_tests|operand_flag_tests)\.cpython"
    r"|^numpy/(array_api|doc)(/|$)"
)


def copy_tree(src: Path, dst: Path, drop: callable) -> None:
    for root, dirs, files in os.walk(src):
        rel = Path(root).relative_to(src)
        dirs[:] = [d for d in dirs if not drop(str(rel / d))]
        for name in files:
            if drop(str(rel / name)):
                continue
            target = dst / rel / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(root) / name, target)  # follows symlinks (Debian's sitecustomize)


def sourceless(tree: Path) -> None:
    """Compile every .py to a .pyc beside it and remove the source (smaller, no compile at start)."""
    compileall.compile_dir(str(tree), quiet=2, legacy=True, optimize=0, workers=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    for path in tree.rglob("*.py"):
        if path.with_suffix(".pyc").exists():
            path.unlink()


def copy_path(path: str, rootfs: Path) -> None:
    """Copy one file to the same path inside rootfs, resolving symlinked directories."""
    real = Path(os.path.realpath(path))
    target = rootfs / Path(os.path.realpath(os.path.dirname(path))).relative_to("/") / Path(path).name
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copy2(real, target)


def shared_libraries(files: list[Path]) -> set[str]:
    libs = set()
    for f in files:
        out = subprocess.run(["ldd", str(f)], capture_output=True, text=True).stdout
        if "not a dynamic executable" in out:
            continue
        for line in out.splitlines():
            if "not found" in line:
                sys.exit(f"slim_rootfs: {f} needs a library that is not installed: {line.strip()}")
            m = re.search(r"(/\S+)", line.split("=>")[-1])
            if m:
                libs.add(m.group(1))
    return libs


def main(rootfs: str, site: str) -> None:
    rootfs_p, site_p = Path(rootfs), Path(site)
    executable = Path(os.path.realpath(sys.executable))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    lib_dynload = stdlib / "lib-dynload"

    copy_path(str(executable), rootfs_p)
    for link in ("/usr/bin/python3", f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"):
        target = rootfs_p / link.lstrip("/")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(executable)
    # Merged /usr: keep /lib, /lib64, /bin as the links the loader paths go through.
    for top in ("/lib", "/lib64", "/bin", "/sbin"):
        if os.path.islink(top) and not (rootfs_p / top.lstrip("/")).exists():
            (rootfs_p / top.lstrip("/")).symlink_to(os.readlink(top))

    def drop_stdlib(rel: str) -> bool:
        return any(rel == d or (d.endswith("*") and rel.startswith(d[:-1])) for d in STDLIB_DROP) \
            or "__pycache__" in rel
    copy_tree(stdlib, rootfs_p / stdlib.relative_to("/"), drop_stdlib)
    copy_tree(site_p, rootfs_p / site_p.relative_to("/"), lambda rel: bool(SITE_DROP.search(rel)))
    sourceless(rootfs_p / stdlib.relative_to("/"))
    sourceless(rootfs_p / site_p.relative_to("/"))

    # Bundled libraries (numpy.libs/...) are resolved through the extension modules that
    # load them, so ldd is asked about the interpreter and the extension modules only.
    extensions = [p for top in (lib_dynload, site_p) for p in (rootfs_p / top.relative_to("/")).rglob("*.so*")
                  if p.is_file() and not p.parent.name.endswith(".libs")]
    binaries = [executable, *extensions]
    for lib in sorted(shared_libraries(binaries)):
        if not lib.startswith(str(rootfs_p)):
            copy_path(lib, rootfs_p)
    total = sum(p.stat().st_size for p in rootfs_p.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"slim_rootfs: {total / 1e6:.1f} MB in {rootfs}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    # The build stage has this file alone (no harness.cli): it names itself as it was run.
    prog = f"python3 -m {__spec__.name}" if __spec__ is not None else f"python3 {sys.argv[0]}"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rootfs", help="the folder to fill (the final stage copies it to /)")
    parser.add_argument("site", help="where pip installed the serving packages (--target)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    main(args.rootfs, args.site)
