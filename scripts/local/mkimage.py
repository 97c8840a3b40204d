#!/usr/bin/python3
"""Writes a container image as a docker-archive tarball (what `ctr image import` reads) without a
container engine or registry.

  mkimage.py --tag localhost/wiremesh/node:0.1.0 --out node.tar \
             --entrypoint '["/bin/sh"]' [--env K=V ...] [--user UID] --layer DIR [--layer DIR ...]

Each --layer is a staged directory tree that becomes one layer (its root is the image's root).
Layers are reproducible (sorted entries, mtime 0, owner 0:0), so an unchanged base layer keeps its
digest and containerd stores it once for every image that shares it.
"""
import argparse
import hashlib
import io
import json
import os
import tarfile


def layer_tar(root):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                path = os.path.join(dirpath, name)
                info = tar.gettarinfo(path, arcname=os.path.relpath(path, root))
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                if info.isfile():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tag", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--entrypoint", required=True, help="JSON array")
    p.add_argument("--cmd", default="[]", help="JSON array")
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--user", default="")
    p.add_argument("--workdir", default="/")
    p.add_argument("--layer", action="append", required=True)
    a = p.parse_args()

    layers = [layer_tar(d) for d in a.layer]
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + a.env
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Entrypoint": json.loads(a.entrypoint), "Cmd": json.loads(a.cmd) or None,
                   "Env": env, "User": a.user, "WorkingDir": a.workdir},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "wiremesh mkimage.py"} for _ in layers],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_names = [d.split(":")[1] + "/layer.tar" for d in diff_ids]
    manifest = json.dumps([{"Config": config_name, "RepoTags": [a.tag], "Layers": layer_names}]).encode()

    tmp = a.out + ".tmp"
    with tarfile.open(tmp, mode="w") as out:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
        add(config_name, config_bytes)
        for name, data in zip(layer_names, layers):
            add(name, data)
        add("manifest.json", manifest)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
