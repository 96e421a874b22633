#!/bin/bash
# Regenerates the synthetic seed corpus for fuzz-launch-spec: launch specs written here by hand
# (valid ones for every TEE and boot mode, and one broken variant per class of error). Run from
# the repository root.
set -euo pipefail
d=tests/fuzz/corpus/launch-spec
mkdir -p "$d"
rm -f "$d"/*
seed() { printf '%s' "$2" > "$d/$1"; }

seed valid-snp-direct.json '{"name":"job-1","tee":"sev-snp","vcpus":4,"memory_mib":4096,"gpus":["0000:1b:00.0"],"boot":{"kernel":"/img/vmlinuz","initrd":"/img/initrd","cmdline":"console=ttyS0 quiet"},"policy":"prod","key_ids":["k1","kms:a/b"],"vsock_cid":42}'
seed valid-tdx-disk.json '{"name":"train.a_b-c","tee":"tdx","vcpus":8,"memory_mib":8192,"hugepage_size":"1G","gpus":["0000:1b:00.0","0000:9a:00.0"],"boot":{"firmware":"/usr/share/ovmf/OVMF.inteltdx.fd","disk":"/img/root.qcow2","disk_format":"qcow2"},"policy":"prod"}'
seed valid-none.json '{"name":"dev","tee":"none","vcpus":1,"memory_mib":256,"boot":{"disk":"/img/dev.img"},"policy":"dev"}'
seed valid-eight-gpus.json '{"name":"big","tee":"sev-snp","vcpus":8,"memory_mib":16384,"gpus":["0000:1b:00.0","0000:1b:00.1","0000:1b:00.2","0000:1b:00.3","0000:9a:00.0","0000:9a:00.1","0000:9a:00.2","0000:9a:00.3"],"boot":{"disk":"/img/r.img"},"policy":"p"}'
seed valid-whitespace.json $'{\n  "policy" : "p",\n  "boot" : { "disk" : "/d" },\n  "memory_mib" : 512,\n  "vcpus" : 2,\n  "tee" : "none",\n  "name" : "x"\n}\n'
seed valid-hgx-keys.json '{"name":"hgx","tee":"sev-snp","vcpus":4,"memory_mib":4096,"gpus":["0000:1b:00.0"],"nvswitches":["0000:05:00.0"],"network":{"bridge":"br0"},"launch_security":{"vcek":false},"boot":{"disk":"/d"},"policy":"p"}'
seed valid-tdx-capped.json '{"name":"cap","tee":"tdx","vcpus":2,"memory_mib":4096,"shared_memory_mib":512,"network":{"network":"default"},"boot":{"disk":"/d"},"policy":"p"}'
seed bad-network.json '{"name":"a","tee":"none","vcpus":1,"memory_mib":512,"network":{"bridge":"br0","network":"n"},"boot":{"disk":"/d"},"policy":"p"}'
seed bad-shared.json '{"name":"a","tee":"tdx","vcpus":1,"memory_mib":512,"shared_memory_mib":1024,"boot":{"disk":"/d"},"policy":"p"}'
seed too-big-for-host.json '{"name":"huge","tee":"sev-snp","vcpus":512,"memory_mib":16777216,"boot":{"disk":"/d"},"policy":"p"}'
seed bad-unknown-key.json '{"name":"a","tee":"none","vcpus":1,"memory_mib":512,"boot":{"disk":"/d"},"policy":"p","frob":1}'
seed bad-type.json '{"name":"a","tee":"none","vcpus":"1","memory_mib":512,"boot":{"disk":"/d"},"policy":"p"}'
seed bad-range.json '{"name":"a","tee":"none","vcpus":0,"memory_mib":512,"boot":{"disk":"/d"},"policy":"p","vsock_cid":2}'
seed bad-pages.json '{"name":"a","tee":"none","vcpus":1,"memory_mib":1025,"boot":{"disk":"/d"},"policy":"p"}'
seed bad-gpu.json '{"name":"a","tee":"none","vcpus":1,"memory_mib":512,"gpus":["0000:1b:20.0"],"boot":{"disk":"/d"},"policy":"p"}'
seed bad-gpu-dup.json '{"name":"a","tee":"none","vcpus":1,"memory_mib":512,"gpus":["0000:1b:00.0","0000:1B:00.0"],"boot":{"disk":"/d"},"policy":"p"}'
seed bad-path.json '{"name":"a","tee":"none","vcpus":1,"memory_mib":512,"boot":{"disk":"/a/../b"},"policy":"p"}'
seed bad-initrd.json '{"name":"a","tee":"none","vcpus":1,"memory_mib":512,"boot":{"disk":"/d","initrd":"/i"},"policy":"p"}'
seed bad-name.json '{"name":"-a b","tee":"none","vcpus":1,"memory_mib":512,"boot":{"disk":"/d"},"policy":"p"}'
seed bad-missing.json '{"name":"a","tee":"none","vcpus":1,"memory_mib":512,"boot":{"disk":"/d"}}'
seed bad-deep.json '{"name":"a","boot":{"disk":[[[[[[[[[[[[1]]]]]]]]]]]]}}'
seed bad-trailing.json '{"name":"a"} {}'
seed bad-truncated.json '{"name":"a","tee":"none","vcp'
seed bad-not-object.json '["name","a"]'
seed bad-nan.json '{"name":"a","vcpus":NaN}'
printf '{"name":"a\\u0000b","tee":"none"}' > "$d/bad-escaped-nul.json"
printf '{"name":"a","tee":"\x00"}' > "$d/bad-nul.json"
: > "$d/bad-empty"
