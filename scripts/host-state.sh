#!/usr/bin/env bash
# Prints the state of the calling process's network namespace that linen could touch:
# links, addresses, routes, neighbours of our devices, nftables, forwarding sysctls,
# and the named namespaces. run-tests.sh diffs it before and after the suite.
set -u
ip -o link show | awk -F': ' '{print "link", $2}' | sed 's/@.*//' | sort
ip -o addr show | awk '{print "addr", $2, $3, $4}' | sort
ip route show table all | grep -v '^local\|^broadcast\|^multicast' | sed 's/^/route /' | sort
ip -6 route show table all | grep -v '^local\|^multicast\|^anycast' | sed 's/^/route6 /' | sort
nft list ruleset 2>/dev/null | sed 's/^/nft /'
for k in net/ipv4/ip_forward net/ipv6/conf/all/forwarding; do echo "sysctl $k $(cat /proc/sys/$k)"; done
ip netns list 2>/dev/null | awk '{print "netns", $1}' | sort
