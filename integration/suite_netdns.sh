#!/usr/bin/env bash
# Issue 15 item 8, side by side with podman (netavark + aardvark-dns): bridge
# networks isolated from each other (k3's nftables `forward`/`isolation` chains),
# container names resolved on user networks by a per-network DNS responder
# (`k3 __dns`, UDP and TCP on the gateway's port 53; not on kb0), with
# `--network-alias` names (shared ones give every address) and PTR records, and named
# volumes filled from the image the first time (copy-up; `nocopy` opts out).
# DNS to anything but loopback and the suite's own subnets is dropped (and
# counted) by a guard table, so no query leaves the host.
# Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
engine_setup
need podman /usr/lib/podman/aardvark-dns /usr/lib/podman/netavark

podman_private
cat >>"$PW/containers.conf" <<CONF
[network]
network_config_dir = "$PW/networks"
CONF
mkdir -p "$PW/networks"
DNSDIR=/run/k3/network/dns
GUARD=k3netdnsguard
SUBNETS="127.0.0.0/8, 10.81.0.0/24, 10.82.0.0/24, 10.83.0.0/24, 10.84.0.0/24, 10.91.0.0/24, 10.92.0.0/24, 10.93.0.0/24, 10.94.0.0/24, 10.95.0.0/24, 10.96.0.0/24, 10.97.0.0/24, 10.98.0.0/24"
netdns_cleanup() {
    podman_cleanup
    for n in $(p network ls -q 2>/dev/null); do [ "$n" = podman ] || p network rm -f "$n" >/dev/null 2>&1; done
    engine_cleanup_k3_only
    # responders of this suite's bridges that outlived their containers
    for b in n1 n2 dn1 dn2 an1 an2; do
        [ -f "$DNSDIR/$b/pid" ] && kill "$(cat "$DNSDIR/$b/pid")" 2>/dev/null
        rm -rf "${DNSDIR:?}/$b"
    done
    nft delete table ip "$GUARD" 2>/dev/null
    engine_cleanup
}
engine_cleanup_k3_only() {
    local id
    for id in $(k3 ps -aq 2>/dev/null); do k3 rm -f "$id" >/dev/null 2>&1; done
    for id in $(k3 network ls -q 2>/dev/null); do [ "$id" = kb0 ] || k3 network rm "$id" >/dev/null 2>&1; done
    sleep 1.5 # responders exit within a second of their last container
}
trap netdns_cleanup EXIT INT TERM

nft -f - <<NFT
table ip $GUARD {
  chain oguard {
    type filter hook output priority 0; policy accept;
    meta l4proto { udp, tcp } th dport 53 ip daddr != { $SUBNETS } counter drop
  }
  chain fguard {
    type filter hook forward priority 0; policy accept;
    meta l4proto { udp, tcp } th dport 53 ip daddr != { $SUBNETS } counter drop
  }
}
NFT
leaked() { nft list table ip "$GUARD" | grep -o 'packets [0-9]*' | awk '{s+=$2} END {print s+0}'; }

# an image whose /data has owners, modes, a symlink, a hard link and an xattr
x=$T/img-cu; mkdir -p "$x/data/sub"
echo hello >"$x/data/f"; echo deep >"$x/data/sub/g"
ln -s f "$x/data/ln"; ln "$x/data/f" "$x/data/sub/hard"
chown -R 1000:1001 "$x/data"; chown 0:0 "$x/data/sub/g"
chmod 0750 "$x/data"; chmod 0640 "$x/data/f"; chmod 4755 "$x/data/sub/g"
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.k3", b"copied")' "$x/data/f"
image_build cu latest "$x" --config.cmd /bin/sh >"$T/cu.log" 2>&1 ||
    { echo "FAIL building the cu image: $(tail -3 "$T/cu.log")"; echo "0 passed, 1 failed"; exit 1; }
for i in alpine nginx cu; do
    p pull -q --tls-verify=false "$REG/$i:latest" >/dev/null || { echo "FAIL podman pull $i"; echo "0 passed, 1 failed"; exit 1; }
done

ip_of() { k3 inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Summary"]["ip"])'; }
pip_of() { p inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
# reach ENGINE NET IP: 0 when a container on NET gets the page of IP's httpd
# (under `sh -c`: busybox's timeout signals its parent, which as pid 1 would ignore it)
GET='timeout 3 wget -qO- "http://$0/"; true'
reach_k3() { k3 run --rm --network "$1" alpine sh -c "$GET" "$2" 2>/dev/null | grep >/dev/null "hello from k3"; }
reach_p() { p run --rm --network "$1" "$REG/alpine:latest" sh -c "$GET" "$2" 2>/dev/null | grep >/dev/null "hello from k3"; }
ping_k3() { k3 run --rm --network "$1" alpine ping -c1 -W1 "$2" >/dev/null 2>&1; }
ping_p() { p run --rm --network "$1" "$REG/alpine:latest" ping -c1 -W1 "$2" >/dev/null 2>&1; }

t_networks_are_isolated_from_each_other() {
    k3 network create n1 --subnet 10.91.0.0/24 >/dev/null
    k3 network create n2 --subnet 10.92.0.0/24 >/dev/null
    EXTRA_BRIDGES+=(n1 n2)
    hp=$(free_port)
    k3 run -d --name w1 --network n1 nginx >/dev/null
    k3 run -d --name w2 --network n2 -p "$hp:80" nginx >/dev/null
    k3 run -d --name w0 nginx >/dev/null
    a=$(ip_of w1) b=$(ip_of w2) c=$(ip_of w0)
    reach_k3 n1 "$a" || fail "n1 -> its own network"
    reach_k3 n2 "$b" || fail "n2 -> its own network"
    reach_k3 n1 "$b" && fail "k3: n1 reached n2's container"
    reach_k3 n2 "$a" && fail "k3: n2 reached n1's container"
    ping_k3 n1 "$b" && fail "k3: n1 pinged n2's container"
    reach_k3 kb0 "$a" && fail "k3: kb0 reached n1's container"
    reach_k3 n1 "$c" && fail "k3: n1 reached kb0's container"
    # the host's published port (n2's container) from n1, through n1's gateway
    reach_k3 n1 "10.91.0.1:$hp" || fail "k3: n1 -> the host's published port"
    # each rule tagged with its network, restored when missing
    for ch in forward isolation; do
        nft list chain ip k3 "$ch" | grep >/dev/null 'comment "net:n1"' || fail "no net:n1 rule in $ch"
    done
    h=$(nft -a list chain ip k3 isolation | awk '/net:n1/ {print $NF}')
    nft delete rule ip k3 isolation handle "$h"
    k3 run --rm --network n1 alpine true
    nft list chain ip k3 isolation | grep >/dev/null 'oifname "n1" drop comment "net:n1"' || fail "not restored"
    reach_k3 n2 "$a" && fail "k3: n2 reached n1's container after the restore"
    k3 rm -f w1 w2 w0 >/dev/null
    k3 network rm n1 >/dev/null && k3 network rm n2 >/dev/null
    nft list table ip k3 | grep >/dev/null 'net:n[12]"' && fail "rules left: $(nft list table ip k3 | grep 'net:n')"
    # podman 4.3 with netavark 1.4, same layout
    p network create --subnet 10.93.0.0/24 pn1 >/dev/null
    p network create --subnet 10.94.0.0/24 pn2 >/dev/null
    p run -d --name pw1 --network pn1 "$REG/nginx:latest" >/dev/null
    p run -d --name pw2 --network pn2 "$REG/nginx:latest" >/dev/null
    pa=$(pip_of pw1) pb=$(pip_of pw2)
    reach_p pn1 "$pa" || fail "podman: pn1 -> its own network"
    # podman 4.3's netavark 1.4 does not isolate bridge networks from each other:
    # both directions get through, where k3 (and docker) refuse
    reach_p pn1 "$pb" || fail "podman: pn1 no longer reaches pn2 (netavark isolates now: update the docs)"
    reach_p pn2 "$pa" || fail "podman: pn2 no longer reaches pn1"
    echo "podman/netavark: pn1 <-> pn2 reachable (not isolated); k3: refused both ways"
    p rm -f -t 0 pw1 pw2 >/dev/null
    p network rm pn1 pn2 >/dev/null
}

# lookup ENGINE NET NAME: the addresses nslookup prints for NAME (none: empty)
lookup_k3() { k3 run --rm --network "$1" alpine nslookup "$2" 2>/dev/null | awk '/^Address/ && !/:53$/ {print $NF}' | sort | tr '\n' ' '; }
lookup_p() { p run --rm --network "$1" "$REG/alpine:latest" nslookup "$2" 2>/dev/null | awk '/^Address/ && !/:53$/ {print $NF}' | sort | tr '\n' ' '; }
# ask PROTO SERVER NAME: an A query from the host (udp or tcp); prints the addresses
ask() {
    python3 - "$@" <<'PY'
import socket, struct, sys
proto, server, name = sys.argv[1:4]
q = struct.pack(">HHHHHH", 0x4b33, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    s.sendto(q, (server, 53)); r = s.recv(4096)
else:
    s = socket.create_connection((server, 53), timeout=3)
    s.sendall(struct.pack(">H", len(q)) + q)
    n = struct.unpack(">H", s.recv(2))[0]; r = b""
    while len(r) < n: r += s.recv(n - len(r))
an = struct.unpack(">H", r[6:8])[0]
print("rcode=%d" % (r[3] & 15), " ".join(socket.inet_ntoa(r[len(r) - 16 * an + 16 * i + 12:len(r) - 16 * an + 16 * i + 16]) for i in range(an)))
PY
}

t_container_names_resolve_on_user_networks() {
    k3 network create dn1 --subnet 10.95.0.0/24 >/dev/null
    k3 network create dn2 --subnet 10.96.0.0/24 >/dev/null
    EXTRA_BRIDGES+=(dn1 dn2)
    # a descriptor the responder must not inherit
    exec 7>"$T/held"
    k3 run -d --name web --network dn1 nginx >/dev/null
    exec 7>&-
    k3 run -d --name other --network dn2 nginx >/dev/null
    k3 run -d --name onkb0 nginx >/dev/null
    ip=$(ip_of web)
    # the k3 that started it has exited: the responder runs on its own
    pid=$(cat "$DNSDIR/dn1/pid")
    expect_contains "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "__dns $DNSDIR/dn1 10.95.0.1"
    ls -l "/proc/$pid/fd" | grep "$T/held" && fail "responder inherited fd 7"
    expect_eq "nameserver 10.95.0.1" "$(k3 run --rm --network dn1 alpine grep nameserver /etc/resolv.conf)"
    expect_eq "$ip " "$(lookup_k3 dn1 web)" "k3 nslookup web"
    k3 run --rm --network dn1 alpine ping -c1 -W2 web | grep >/dev/null "bytes from $ip" || fail "k3 ping web"
    expect_eq "hello from k3" "$(k3 run --rm --network dn1 alpine timeout 5 wget -qO- http://web/)"
    expect_eq "" "$(lookup_k3 dn2 web)" "k3: web from dn2"
    expect_eq "$(ip_of other) " "$(lookup_k3 dn2 other)" "k3: other on dn2"
    expect_eq "" "$(lookup_k3 dn1 other)" "k3: other from dn1"
    k3 run --rm alpine grep -q "nameserver 192.168.100.1" /etc/resolv.conf && fail "kb0 got a responder"
    expect_eq "rcode=0 $ip" "$(ask udp 10.95.0.1 web)" "UDP from the host"
    expect_eq "rcode=0 $ip" "$(ask tcp 10.95.0.1 WEB)" "TCP, any case"
    expect_eq "rcode=3 " "$(ask udp 10.95.0.1 other)" "NXDOMAIN for dn2's name"
    # stop drops the name, start brings it back
    k3 stop -t 1 web >/dev/null
    expect_eq "rcode=3 " "$(ask udp 10.95.0.1 web)" "stopped"
    k3 start web >/dev/null
    expect_eq "rcode=0 $ip" "$(ask udp 10.95.0.1 web)" "restarted"
    # the responder exits with the last container
    k3 rm -f web >/dev/null
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && fail "responder $pid still runs"
    [ -e "$DNSDIR/dn1/pid" ] && fail "pid file left"
    [ -e "$DNSDIR/dn1" ] && fail "directory left: $(ls -l "$DNSDIR/dn1")"
    k3 rm -f other onkb0 >/dev/null
    # podman with aardvark-dns, same commands
    p network create --subnet 10.97.0.0/24 pdn1 >/dev/null
    p network create --subnet 10.98.0.0/24 pdn2 >/dev/null
    p run -d --name pweb --network pdn1 "$REG/nginx:latest" >/dev/null
    p run -d --name pother --network pdn2 "$REG/nginx:latest" >/dev/null
    pip=$(pip_of pweb)
    expect_eq "$pip " "$(lookup_p pdn1 pweb)" "podman nslookup pweb"
    p run --rm --network pdn1 "$REG/alpine:latest" ping -c1 -W2 pweb | grep >/dev/null "bytes from $pip" || fail "podman ping pweb"
    expect_eq "" "$(lookup_p pdn1 pother)" "podman: pother from pdn1"
    p rm -f -t 0 pweb pother >/dev/null
    p network rm pdn1 pdn2 >/dev/null
    expect_eq 0 "$(leaked)" "DNS queries that would have left the host"
    k3 network rm dn1 >/dev/null && k3 network rm dn2 >/dev/null
}

# ptr ENGINE NET IP: the names nslookup prints for IP's reverse name, sorted
ptr_k3() { k3 run --rm --network "$1" alpine nslookup "$2" 2>/dev/null | awk '/name = / {print $NF}' | sort | tr '\n' ' '; }
ptr_p() { p run --rm --network "$1" "$REG/alpine:latest" nslookup "$2" 2>/dev/null | awk '/name = / {print $NF}' | sort | tr '\n' ' '; }
# as WORDS IP=NAME...: WORDS with each IP replaced by its NAME (an empty NAME
# drops the word), sorted
as() {
    local w=$1 x m out=(); shift
    for x in $w; do
        for m in "$@"; do [ "$x" = "${m%%=*}" ] && x=${m#*=}; done
        [ -n "$x" ] && out+=("$x")
    done
    [ ${#out[@]} -eq 0 ] || printf '%s\n' "${out[@]}" | LC_ALL=C sort | tr '\n' ' '
}
aliases_k3() { k3 inspect "$1" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0]["NetworkSettings"]["Networks"][sys.argv[1]]["Aliases"]))' "$2"; }
aliases_p() { p inspect -f "{{json (index .NetworkSettings.Networks \"$2\").Aliases}}" "$1"; }

t_network_aliases_side_by_side_with_podman() {
    k3 network create an1 --subnet 10.81.0.0/24 >/dev/null
    k3 network create an2 --subnet 10.82.0.0/24 >/dev/null
    EXTRA_BRIDGES+=(an1 an2)
    p network create --subnet 10.83.0.0/24 pan1 >/dev/null
    p network create --subnet 10.84.0.0/24 pan2 >/dev/null
    # refused off user networks: none and host by both; the default network by k3
    # (docker's "only for user defined networks"), where podman 4.3 takes it
    local mode rc prc
    for mode in none host; do
        rc=0; k3 run --rm --network "$mode" --network-alias x alpine true 2>"$T/err" || rc=$?
        prc=0; p run --rm --network "$mode" --network-alias x "$REG/alpine:latest" true 2>/dev/null || prc=$?
        expect_eq "125 125" "$rc $prc" "--network $mode: k3, podman exit"
        expect_contains "$(cat "$T/err")" "--network-alias"
    done
    rc=0; k3 create --name akb0 --network-alias x alpine true 2>"$T/err" || rc=$?
    expect_eq 125 "$rc" "k3 on kb0"
    expect_contains "$(cat "$T/err")" "kb0"
    k3 ps -a | grep -w akb0 && fail "refused container left"
    p create --name pakb0 --network-alias x "$REG/alpine:latest" true >/dev/null || fail "podman 4.3 now refuses an alias on its default network: update the docs"
    # one container with two aliases (one in capitals, one dotted); lookups from another
    k3 run -d --name aweb --network an1 --network-alias Db --network-alias cache.svc nginx >/dev/null
    p run -d --name paweb --network pan1 --network-alias Db --network-alias cache.svc "$REG/nginx:latest" >/dev/null
    local a b pa pb
    a=$(ip_of aweb) pa=$(pip_of paweb)
    expect_eq "WEB " "$(as "$(lookup_k3 an1 db)" "$a=WEB")" "k3 nslookup db"
    expect_eq "WEB " "$(as "$(lookup_p pan1 db)" "$pa=WEB")" "podman nslookup db"
    expect_eq "WEB " "$(as "$(lookup_k3 an1 CACHE.svc)" "$a=WEB")" "k3 nslookup CACHE.svc"
    expect_eq "WEB " "$(as "$(lookup_p pan1 CACHE.svc)" "$pa=WEB")" "podman nslookup CACHE.svc"
    expect_eq "hello from k3" "$(k3 run --rm --network an1 alpine timeout 5 wget -qO- http://db/)"
    # not from another network (the same outcome in both: no address)
    expect_eq "" "$(lookup_k3 an2 db)" "k3: db from an2"
    expect_eq "" "$(lookup_p pan2 db)" "podman: db from pan2"
    # inspect: the aliases as given (podman adds the short id)
    expect_eq '["Db", "cache.svc"]' "$(aliases_k3 aweb an1)" "k3 Aliases"
    expect_eq '["Db","cache.svc"' "$(aliases_p paweb pan1 | cut -d, -f1,2)" "podman Aliases"
    # PTR: the name first, then the aliases (aardvark-dns adds the short id)
    local pid; pid=$(p inspect -f '{{.Id}}' paweb | cut -c1-12)
    expect_eq "NAME cache.svc db " "$(as "$(ptr_k3 an1 "$a")" aweb=NAME)" "k3 PTR"
    # aardvark-dns 1.4 also asks the host's resolver about its own container's
    # address (the guard drops it); counted apart from k3's, which must be none
    local before plk; before=$(leaked)
    expect_eq "NAME cache.svc db " "$(as "$(ptr_p pan1 "$pa")" paweb=NAME "$pid=")" "podman PTR"
    plk=$(($(leaked) - before))
    expect_eq "aweb" "$(k3 run --rm --network an1 alpine nslookup "$a" | awk '/name = / {print $NF; exit}')" "k3: the name first"
    # another address of the network: NXDOMAIN from k3's responder, not forwarded
    k3 run --rm --network an1 alpine nslookup 10.81.0.200 >"$T/nx" 2>&1 && fail "k3 PTR of a free address: $(cat "$T/nx")"
    expect_contains "$(cat "$T/nx")" "NXDOMAIN"
    # a second container shares the alias: both addresses (docker's round robin)
    k3 run -d --name aweb2 --network an1 --network-alias db nginx >/dev/null
    p run -d --name paweb2 --network pan1 --network-alias db "$REG/nginx:latest" >/dev/null
    b=$(ip_of aweb2) pb=$(pip_of paweb2)
    expect_eq "ONE TWO " "$(as "$(lookup_k3 an1 db)" "$a=ONE" "$b=TWO")" "k3 shared alias"
    expect_eq "ONE TWO " "$(as "$(lookup_p pan1 db)" "$pa=ONE" "$pb=TWO")" "podman shared alias"
    local r; r=$(ask udp 10.81.0.1 DB)
    expect_eq "rcode=0" "${r%% *}" "k3 over UDP"
    expect_eq "ONE TWO " "$(as "${r#* }" "$a=ONE" "$b=TWO")" "k3 over UDP"
    # saved with the container: gone while it is stopped, back when it starts again
    k3 stop -t 1 aweb >/dev/null
    p stop -t 1 paweb >/dev/null
    expect_eq "TWO " "$(as "$(lookup_k3 an1 db)" "$b=TWO")" "k3, aweb stopped"
    expect_eq "TWO " "$(as "$(lookup_p pan1 db)" "$pb=TWO")" "podman, paweb stopped"
    k3 start aweb >/dev/null
    p start paweb >/dev/null
    a=$(ip_of aweb) pa=$(pip_of paweb)
    expect_eq "ONE TWO " "$(as "$(lookup_k3 an1 db)" "$a=ONE" "$b=TWO")" "k3, aweb started again"
    expect_eq "ONE TWO " "$(as "$(lookup_p pan1 db)" "$pa=ONE" "$pb=TWO")" "podman, paweb started again"
    expect_eq "WEB " "$(as "$(lookup_k3 an1 cache.svc)" "$a=WEB")" "k3 cache.svc after start"
    # removed: the alias goes with it
    k3 rm -f aweb2 >/dev/null
    p rm -f -t 0 paweb2 >/dev/null
    expect_eq "ONE " "$(as "$(lookup_k3 an1 db)" "$a=ONE")" "k3 after rm"
    expect_eq "ONE " "$(as "$(lookup_p pan1 db)" "$pa=ONE")" "podman after rm"
    # the API's create body (`networkAlias`), validated there too
    k3 create --options-json '{"containerId":"aapi","image":"alpine","network":"an1","networkAlias":["api-alias"],"args":"sleep 100"}' >/dev/null
    k3 start aapi >/dev/null
    expect_eq "$(ip_of aapi) " "$(lookup_k3 an1 api-alias)" "alias from --options-json"
    k3 rm -f aweb aapi >/dev/null
    p rm -f -t 0 paweb pakb0 >/dev/null
    p network rm pan1 pan2 >/dev/null
    echo "podman/aardvark-dns: $plk upstream query(ies) for a container's PTR (dropped); k3: none"
    expect_eq "$plk" "$(leaked)" "DNS queries that would have left the host besides aardvark-dns's PTR"
    k3 network rm an1 >/dev/null && k3 network rm an2 >/dev/null
}

# stat_in ENGINE VOLUME-ARG [IMAGE]: owners, modes and links under /data
STAT='cd /data && stat -c "%n %u:%g %a %F" . f ln sub sub/g sub/hard 2>&1; readlink ln; ls -A | tr "\n" " "'
t_named_volume_copy_up() {
    k=$(k3 run --rm -v cuvol:/data cu sh -c "$STAT")
    pm=$(p run --rm -v pcuvol:/data "$REG/cu:latest" sh -c "$STAT")
    expect_eq "$pm" "$k" "k3 vs podman"
    expect_contains "$k" ". 1000:1001 750 directory"
    expect_contains "$k" "sub/g 0:0 4755 regular file"
    kv=$(k3 volume inspect cuvol | python3 -c 'import json,sys; j=json.load(sys.stdin); print((j[0] if isinstance(j,list) else j)["Mountpoint"])')
    pv=$(p volume inspect pcuvol -f '{{.Mountpoint}}')
    for d in "$kv" "$pv"; do
        expect_eq copied "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.k3").decode())' "$d/f")" "xattr in $d"
        expect_eq "$(stat -c %i "$d/f")" "$(stat -c %i "$d/sub/hard")" "hard link in $d"
    done
    # not again once the volume has data
    k3 run --rm -v cuvol:/data cu sh -c 'rm -r /data/f /data/sub; echo mine >/data/new'
    p run --rm -v pcuvol:/data "$REG/cu:latest" sh -c 'rm -r /data/f /data/sub; echo mine >/data/new'
    k=$(k3 run --rm -v cuvol:/data cu ls -A /data | tr '\n' ' ')
    expect_eq "$(p run --rm -v pcuvol:/data "$REG/cu:latest" ls -A /data | tr '\n' ' ')" "$k" "second run, k3 vs podman"
    expect_eq "ln new " "$k"
    # opt-outs: nocopy (both syntaxes), bind mounts
    expect_eq "" "$(k3 run --rm -v nc1:/data:nocopy cu ls -A /data)" "k3 -v :nocopy"
    expect_eq "" "$(k3 run --rm --mount type=volume,src=nc2,dst=/data,volume-nocopy cu ls -A /data)" "k3 volume-nocopy"
    expect_eq "" "$(p run --rm -v pnc1:/data:nocopy "$REG/cu:latest" ls -A /data)" "podman :nocopy"
    mkdir "$T/bind"
    expect_eq "" "$(k3 run --rm -v "$T/bind:/data" cu ls -A /data)" "k3 bind mount"
    expect_eq "" "$(p run --rm -v "$T/bind:/data" "$REG/cu:latest" ls -A /data)" "podman bind mount"
    # a volume over a path the image lacks stays empty
    expect_eq "" "$(k3 run --rm -v nc3:/nothing cu ls -A /nothing)"
    # a failed create leaves no (half-filled) new volume
    expect_error CONTAINER_SERVICE_ERROR 500 "/nope" -- k3 run -d --json --name cuf -v newvol:/data cu /nope
    k3 volume ls | grep >/dev/null newvol && fail "volume left"
    expect_error VALIDATION_ERROR 422 "nocopy" -- k3 run -d --json -v "$T/bind:/data:nocopy" cu true
    return 0
}

run_suite
