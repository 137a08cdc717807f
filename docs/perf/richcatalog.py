#!/usr/bin/env python3
"""usage: richcatalog.py OUT N BASE

docs/performance.md, "Start-up, tenth pass: trial shapes over the keys
templates read". Writes a matchbox-style catalog directory OUT of N groups
(one per machine) whose metadata is richer than bootstorm's generator's:
hostnames of four roles in four sites, a mac, a serial, one to four disks,
one or two SSH keys, and for some machines a GPU or a BMC. Profiles and
templates are copied from BASE (a directory bootstorm --shape matchbox
--keep wrote), so its Butane template reads hostname, mac, cidr, gateway,
rack and the SSH keys, and none of the rest.
"""
import json, os, random, shutil, sys

out, n, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
random.seed(7)
os.makedirs(os.path.join(out, "groups"))
for sub in ("profiles", "ignition"):
    shutil.copytree(os.path.join(base, sub), os.path.join(out, sub))
key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz0bM7wq4Vd1rL0aT2x3s5cYwqf8m1n2b3v4c5x6z7a ops%d@example.com"
roles = ["worker", "storage", "gpu", "edge"]
for i in range(n):
    mac = "52:54:%02x:%02x:%02x:%02x" % (random.randrange(256), (i >> 16) & 255, (i >> 8) & 255, i & 255)
    md = {
        "hostname": "%s-%05d.%s.example.com" % (random.choice(roles), i, random.choice(["dc1", "dc2", "fra", "ams3"])),
        "ip_address": "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255),
        "gateway": "10.0.0.1", "cidr": "10.0.0.0/8",
        "mac": mac,
        "serial": "%s%010X" % (random.choice(["SN", "CZ", "J"]), random.getrandbits(40)),
        "disks": ["/dev/nvme%dn1" % d for d in range(random.randrange(1, 5))],
        "rack": "r%03d" % (i // 40),
        "ssh_authorized_keys": [key % k for k in range(random.randrange(1, 3))],
    }
    if random.random() < 0.3:
        md["gpu"] = {"model": random.choice(["a100", "h100", "l40s"]), "count": random.choice([1, 2, 4, 8])}
    if random.random() < 0.2:
        md["bmc"] = {"address": "10.255.%d.%d" % ((i >> 8) & 255, i & 255), "user": "admin"}
    g = {"id": "m%06d" % i, "name": md["hostname"], "profile": random.choice(["butane", "ignition"]),
         "selector": {"mac": mac}, "metadata": md}
    with open(os.path.join(out, "groups", "m%06d.json" % i), "w") as f:
        json.dump(g, f)
