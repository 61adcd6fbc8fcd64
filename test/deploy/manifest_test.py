#!/usr/bin/env python3
"""deploy/kubernetes/linen.yaml: it parses, its RBAC is exactly what the kubernetes
registry calls, its ConfigMap holds a flannel net-conf.json and a conflist of plugins
the image ships, and its DaemonSet runs linend with flags linend accepts and wires
probes, env and mounts consistently.

    manifest_test.py <source dir> <cni-bin dir>

Exit 77 (ctest: skipped) when the linend built here has no Kubernetes mode yet.
"""
import json
import os
import re
import subprocess
import sys

import yaml

SRC, BIN = sys.argv[1], sys.argv[2]
# What scripts/build-image.sh puts in /opt/linen/bin.
SHIPPED_PLUGINS = {"bridge", "host-local", "loopback", "host-gw", "vxlan", "portmap", "bandwidth"}
# The calls the kubernetes registry makes: list/watch/get nodes, patch nodes/status.
# The test API server enforces exactly LinenRbacRules() (kube_api_server.cc) when a
# test asks it to, so a registry test run with those rules proves the registry needs
# no more; this test proves the manifest grants no more and no less.
EXPECTED_RULES = {("", "nodes"): {"get", "list", "watch"}, ("", "nodes/status"): {"patch"}}
with open(os.path.join(SRC, "overlay/registry/kubernetes/testing/kube_api_server.cc")) as f:
    body = re.search(r"std::vector<RbacRule> LinenRbacRules\(\) \{(.*?)\n\}", f.read(), re.S)
SERVER_RULES = {("", res): set(re.findall(r'"([a-z]+)"', verbs))
                for res, verbs in re.findall(r'\{"([a-z/]+)",\s*\{([^}]*)\}\}', body.group(1))}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


with open(os.path.join(SRC, "deploy/kubernetes/linen.yaml")) as f:
    docs = [d for d in yaml.safe_load_all(f) if d]
by_kind = {}
for d in docs:
    check(d["kind"] not in by_kind, "two objects of kind %s" % d["kind"])
    by_kind[d["kind"]] = d
check(set(by_kind) == {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                       "ConfigMap", "DaemonSet"}, "unexpected kinds: %s" % sorted(by_kind))
ns = by_kind["Namespace"]["metadata"]["name"]
for kind in ("ServiceAccount", "ConfigMap", "DaemonSet"):
    check(by_kind[kind]["metadata"].get("namespace") == ns, "%s not in namespace %s" % (kind, ns))

# RBAC: exactly the expected rules, no wildcards, bound to the DaemonSet's account.
rules = {}
for r in by_kind["ClusterRole"]["rules"]:
    check(not r.get("resourceNames") and not r.get("nonResourceURLs"), "unexpected rule %s" % r)
    for g in r["apiGroups"]:
        for res in r["resources"]:
            rules.setdefault((g, res), set()).update(r["verbs"])
check(rules == EXPECTED_RULES, "ClusterRole rules %s, expected %s" % (rules, EXPECTED_RULES))
check(SERVER_RULES == EXPECTED_RULES,
      "LinenRbacRules() %s differs from the manifest's %s" % (SERVER_RULES, EXPECTED_RULES))
sa = by_kind["ServiceAccount"]["metadata"]["name"]
crb = by_kind["ClusterRoleBinding"]
check(crb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": by_kind["ClusterRole"]["metadata"]["name"]}, "binding roleRef")
check(crb["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
      "binding subjects %s" % crb["subjects"])

# ConfigMap: flannel's net-conf.json keys, a conflist whose plugins the image ships.
cm = by_kind["ConfigMap"]
net = json.loads(cm["data"]["net-conf.json"])
check(set(net) <= {"Network", "EnableIPv4", "EnableIPv6", "IPv6Network", "Backend"},
      "net-conf.json keys %s" % sorted(net))
check(set(net["Backend"]) == {"Type", "VNI", "Port", "DirectRouting"},
      "Backend keys %s" % sorted(net["Backend"]))
check(net["Backend"]["Type"] in ("vxlan", "host-gw"), "Backend.Type")
conflist = json.loads(cm["data"]["cni-conf.json"])
types = [p["type"] for p in conflist["plugins"]]
check(types[0] == net["Backend"]["Type"], "conflist's first plugin %s is not Backend.Type" % types[0])
check(set(types) <= SHIPPED_PLUGINS, "conflist plugins %s not all shipped" % types)

# DaemonSet.
ds = by_kind["DaemonSet"]
pod = ds["spec"]["template"]["spec"]
check(ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items(),
      "selector does not match the template")
check(pod.get("serviceAccountName") == sa, "serviceAccountName")
check(pod.get("hostNetwork") is True, "hostNetwork")
check(pod.get("priorityClassName") == "system-node-critical", "priorityClassName")
check({"operator": "Exists"} in pod.get("tolerations", []), "does not tolerate every taint")
check(pod.get("nodeSelector") == {"kubernetes.io/os": "linux"}, "nodeSelector")
volumes = {v["name"]: v for v in pod["volumes"]}


def mounts(c):
    return {m["mountPath"]: volumes[m["name"]] for m in c.get("volumeMounts", [])}


def args_of(c):
    out = {}
    for a in c.get("args", []):
        m = re.fullmatch(r"(--[a-z0-9-]+)=(.*)", a)
        check(m is not None, "argument %r is not --flag=value" % a)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def config_item(volume, key):
    cmv = volume.get("configMap", {})
    items = {i["key"]: i["path"] for i in cmv.get("items", [])}
    return cmv.get("name") == cm["metadata"]["name"] and key in cm["data"] and items.get(key)


# Init container: install-cni.sh with flags it has, paths mounted where they must be.
init = pod["initContainers"][0]
check(init["command"] == ["/bin/sh", "/usr/local/bin/install-cni.sh"], "init command")
script = open(os.path.join(SRC, "scripts/install-cni.sh")).read()
iargs = args_of(init)
for flag in iargs:
    check(re.search(r"^\s+%s\)" % re.escape(flag), script, re.M), "install-cni.sh has no %s" % flag)
im = mounts(init)
check(im.get("/host/opt/cni/bin", {}).get("hostPath", {}).get("path") == "/opt/cni/bin",
      "/opt/cni/bin not mounted")
check(im.get("/host/etc/cni/net.d", {}).get("hostPath", {}).get("path") == "/etc/cni/net.d",
      "/etc/cni/net.d not mounted")
check(os.path.dirname(iargs.get("--bin-dir", "") + "/x") == "/host/opt/cni/bin", "--bin-dir")
check(os.path.dirname(iargs.get("--conf-dest", "")) == "/host/etc/cni/net.d", "--conf-dest")
conf_src = iargs.get("--conf-src", "")
check(config_item(im.get(os.path.dirname(conf_src), {}), "cni-conf.json") == os.path.basename(conf_src),
      "--conf-src %s is not the ConfigMap's cni-conf.json" % conf_src)

# Main container: linend, its config file mounted, env references defined, probes on
# its metrics address, /run/linen shared with the host (the plugins read subnet.env).
main = pod["containers"][0]
check(main["command"] == ["/usr/local/bin/linend"], "main command")
margs = args_of(main)
check(margs.get("--registry") == "kubernetes", "--registry kubernetes")
net_path = margs.get("--net-config-path", "")
mm = mounts(main)
check(config_item(mm.get(os.path.dirname(net_path), {}), "net-conf.json") == os.path.basename(net_path),
      "--net-config-path %s is not the ConfigMap's net-conf.json" % net_path)
env = {e["name"]: e for e in main.get("env", [])}
check(env.get("NODE_NAME", {}).get("valueFrom") == {"fieldRef": {"fieldPath": "spec.nodeName"}},
      "NODE_NAME not from spec.nodeName")
for a in main["args"]:
    for var in re.findall(r"\$\(([A-Z_]+)\)", a):
        check(var in env, "%s uses $(%s), not in env" % (a, var))
check(margs.get("--node-name") == "$(NODE_NAME)", "--node-name")
host, port = margs.get("--metrics-address", "127.0.0.1:9925").rsplit(":", 1)
for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
    g = main.get(probe, {}).get("httpGet", {})
    check(g.get("path") == path and g.get("port") == int(port) and g.get("host") == host,
          "%s %s is not %s on %s:%s" % (probe, g, path, host, port))
subnet_dir = os.path.dirname(conflist["plugins"][0]["subnetFile"])
check(mm.get(subnet_dir, {}).get("hostPath", {}).get("path") == subnet_dir,
      "%s (the plugins' subnetFile dir) is not the host's" % subnet_dir)
caps = main.get("securityContext", {}).get("capabilities", {}).get("add", [])
check("NET_ADMIN" in caps, "linend needs NET_ADMIN")

# linend's own flags: every argument must be one it accepts.
linend = os.path.join(BIN, "linend")
helptext = subprocess.run([linend, "--help"], capture_output=True, text=True, check=True).stdout
flags = set(re.findall(r"(--[a-z0-9][a-z0-9-]*)", helptext))
registry_line = next((l for l in helptext.splitlines() if "--registry" in l), "")
if failures:
    print("FAIL:\n  " + "\n  ".join(failures))
    sys.exit(1)
if "kubernetes" not in registry_line:
    print("SKIP: this linend has no --registry kubernetes yet (%s); manifest checks passed, "
          "flag checks skipped" % registry_line.strip())
    sys.exit(77)
for flag in margs:
    check(flag in flags, "linend does not accept %s" % flag)
if failures:
    print("FAIL:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("manifest_test: ok (%d linend flags checked)" % len(margs))
