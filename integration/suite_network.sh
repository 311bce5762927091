#!/usr/bin/env bash
# End-to-end tests of k3 container networking, as root: the kb0 bridge,
# container-to-container traffic, published ports from the host (127.0.0.1
# and the bridge IP) and hairpin, `none` and `host`, static IP/MAC, IPAM
# exhaustion, network create/ls/inspect/rm, and failure paths that leave no
# veth, nft rule, lease or namespace behind. Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
engine_setup

httpd() { k3 run -d --name "$1" "${@:2}" nginx >/dev/null; }
# In-container clients use `timeout 5 wget`, not `wget -T 5`: the images carry
# the host's busybox-static 1.35, built without wget's timeout feature, and
# its wget dies with SIGSEGV while parsing `-T` (before any connection).
ip_of() { k3 inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Summary"]["ip"])'; }
leases() { sqlite3 "$ROOT/k3.db" 'select count(*) from leases'; }
net_state() {
    echo "links: $(ip -br link | awk '{print $1}' | sort | tr '\n' ' ')"
    echo "nft: $(nft list table ip k3 2>/dev/null | grep -v handle | md5sum)"
    echo "leases: $(leases) ports: $(sqlite3 "$ROOT/k3.db" 'select count(*) from ports')"
    echo "netns: $(ls "$ROOT/netns" 2>/dev/null | tr '\n' ' ')"
}

t_kb0_bridge_made_on_first_use() {
    k3 run --rm --name first alpine true >/dev/null
    ip -br addr show kb0 | grep >/dev/null "192.168.100.1/24" || fail "kb0: $(ip -br addr show kb0)"
    expect_eq 1 "$(cat /proc/sys/net/ipv4/conf/kb0/route_localnet)" "route_localnet"
    k3 network ls | grep >/dev/null "^kb0 .*192.168.100.0/24" || fail "kb0 not listed: $(k3 network ls)"
}

t_two_containers_reach_each_other() {
    httpd srv
    ip=$(ip_of srv)
    [[ $ip == 192.168.100.* ]] || fail "ip $ip"
    out=$(k3 run --rm --name cli alpine timeout 5 wget -qO- "http://$ip/")
    expect_eq "hello from k3" "$out"
    k3 rm -f srv >/dev/null
}

t_published_port_from_host_loopback_and_bridge_ip() {
    hp=$(free_port)
    httpd pub -p "$hp:80"
    wait_port "$hp" || true
    expect_eq "hello from k3" "$(curl -s -m 5 "http://127.0.0.1:$hp/")" "via 127.0.0.1"
    expect_eq "hello from k3" "$(curl -s -m 5 "http://192.168.100.1:$hp/")" "via the bridge IP"
    hostip=$(ip -4 -br addr show eth0 | awk '{print $3}' | cut -d/ -f1)
    if [ -n "$hostip" ]; then
        expect_eq "hello from k3" "$(curl -s -m 5 "http://$hostip:$hp/")" "via the host's own address"
    fi
    out=$(k3 run --rm --name hair alpine timeout 5 wget -qO- "http://192.168.100.1:$hp/")
    expect_eq "hello from k3" "$out" "hairpin from another container"
    nft list chain ip k3 portmap | grep >/dev/null "dport $hp dnat to $(ip_of pub):80" || fail "rule: $(nft list chain ip k3 portmap)"
    k3 rm -f pub >/dev/null
    nft list chain ip k3 portmap | grep >/dev/null "dport $hp" && fail "rule left after rm"
    curl -s -m 2 "http://127.0.0.1:$hp/" && fail "port still answers"
    return 0
}

t_udp_publish() {
    # busybox has no UDP server: a tiny static one, bind-mounted in.
    cat >"$T/udprecv.c" <<'C'
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
int main(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5353)};
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    char buf[64]; struct sockaddr_in peer; socklen_t len = sizeof peer;
    ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&peer, &len);
    if (n < 0) return 1;
    buf[n] = 0; printf("got %s\n", buf); fflush(stdout);
    sendto(s, "pong", 4, 0, (struct sockaddr *)&peer, len);
    return 0;
}
C
    gcc -static -O1 -o "$T/udprecv" "$T/udprecv.c"
    hp=$(free_port)
    k3 run -d --name udp -p "$hp/udp:5353" alpine true >/dev/null 2>&1 && fail "malformed publish accepted"
    k3 run -d --name udp -p "$hp:5353/udp" --mount "$T/udprecv:/udprecv:ro" alpine /udprecv >/dev/null
    reply=$(python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.3)
for _ in range(20):
    s.sendto(b'ping-udp', ('127.0.0.1', $hp))
    try:
        print(s.recvfrom(64)[0].decode()); break
    except socket.timeout:
        pass
")
    expect_eq pong "$reply" "reply through the published port"
    expect_contains "$(k3 logs udp)" "got ping-udp"
    k3 rm -f udp >/dev/null
}

t_network_none_has_only_lo() {
    out=$(k3 run --rm --name nn --network none alpine ip -o link)
    expect_eq 1 "$(grep -c . <<<"$out")" "links: $out"
    expect_contains "$out" "lo:"
    expect_contains "$out" "UP" "lo is up"
}

t_network_host_shares_the_namespace() {
    out=$(k3 run --rm --name hn --network host alpine readlink /proc/1/ns/net)
    expect_eq "$(readlink /proc/self/ns/net)" "$out"
}

t_static_ip_and_mac() {
    out=$(k3 run --rm --name st --ip 192.168.100.77 --mac-address 02:aa:bb:cc:dd:ee alpine ip addr show eth0)
    expect_contains "$out" "inet 192.168.100.77/24"
    expect_contains "$out" "link/ether 02:aa:bb:cc:dd:ee"
    out=$(k3 run --rm --name st2 alpine sh -c 'ip route; cat /etc/hosts /etc/hostname')
    expect_contains "$out" "default via 192.168.100.1"
    ip=$(grep -o '192\.168\.100\.[0-9]*' <<<"$out" | grep -v '\.1$' | head -1)
    [ -n "$ip" ] || fail "no IP in /etc/hosts: $out"
}

t_resolv_conf_without_loopback_resolvers() {
    out=$(k3 run --rm --name rs alpine cat /etc/resolv.conf)
    grep -q "nameserver 127\." <<<"$out" && fail "loopback resolver: $out"
    grep -q "^nameserver" <<<"$out" || fail "no nameserver: $out"
    out=$(k3 run --rm --name rsh --network host alpine cat /etc/resolv.conf)
    expect_eq "$(cat /etc/resolv.conf)" "$out" "host network keeps the host's"
}

t_network_create_inspect_rm_in_use() {
    k3 network create tnet --subnet 10.77.0.0/24 >/dev/null
    EXTRA_BRIDGES+=(tnet)
    ip -br addr show tnet | grep >/dev/null 10.77.0.1/24 || fail "bridge"
    k3 run -d --name tn --network tnet alpine sleep 1000 >/dev/null
    expect_eq 10.77.0.2 "$(ip_of tn)"
    k3 network inspect tnet | grep >/dev/null '"container_id": "tn"' || fail "lease not in inspect"
    expect_error VALIDATION_ERROR 422 "in use" -- k3 network rm --json tnet
    k3 rm -f tn >/dev/null
    k3 network rm tnet >/dev/null
    ip link show tnet >/dev/null 2>&1 && fail "bridge left"
    k3 network ls | grep >/dev/null tnet && fail "record left"
    expect_error VALIDATION_ERROR 422 "subnet" -- k3 network create --json bad --subnet 10.0.0.0/33
    expect_error VALIDATION_ERROR 422 "overlaps" -- k3 network create --json ov --subnet 192.168.100.128/25
    return 0
}

t_ip_exhaustion_of_a_slash_30() {
    k3 network create tiny --subnet 10.88.0.0/30 >/dev/null
    EXTRA_BRIDGES+=(tiny)
    k3 run -d --name t1 --network tiny alpine sleep 1000 >/dev/null
    expect_eq 10.88.0.2 "$(ip_of t1)"
    expect_error NETWORK_ERROR 500 'no free IP address left in network `tiny`' -- k3 run -d --json --name t2 --network tiny alpine sleep 1000
    k3 rm -f t1 >/dev/null
    k3 run -d --name t2 --network tiny alpine sleep 1000 >/dev/null
    expect_eq 10.88.0.2 "$(ip_of t2)" "address reused after rm"
    k3 rm -f t2 >/dev/null
    k3 network rm tiny >/dev/null
}

t_failure_paths_leave_no_residue() {
    k3 run -d --name holder --ip 192.168.100.60 alpine sleep 1000 >/dev/null
    hp=$(free_port)
    k3 run -d --name porter -p "$hp:80" nginx >/dev/null
    before=$(net_state)
    expect_error NETWORK_ERROR 500 'network `nonexistent-network` not found' -- k3 run -d --json --name f1 --network nonexistent-network alpine
    expect_error NETWORK_ERROR 500 'IP `10.0.0.100` is not in the subnet' -- k3 run -d --json --name f2 --ip 10.0.0.100 alpine
    expect_error NETWORK_ERROR 500 'IP `192.168.100.60` is already in use' -- k3 run -d --json --name f3 --ip 192.168.100.60 alpine
    expect_error NETWORK_ERROR 500 'is the gateway' -- k3 run -d --json --name f4 --ip 192.168.100.1 alpine
    expect_error NETWORK_ERROR 500 'broadcast' -- k3 run -d --json --name f5 --ip 192.168.100.255 alpine
    expect_error VALIDATION_ERROR 422 '`ip` value `192.168.100.300`' -- k3 run -d --json --name f6 --ip 192.168.100.300 alpine
    expect_error VALIDATION_ERROR 422 "already published by container \`porter\`" -- k3 run -d --json --name f7 -p "$hp:80" alpine
    python3 -c "import socket,time; s=socket.socket(); s.bind(('0.0.0.0',$((hp+1)))); s.listen(); time.sleep(30)" &
    busy=$!
    sleep 0.3
    expect_error VALIDATION_ERROR 422 "in use on the host" -- k3 run -d --json --name f8 -p "$((hp+1)):80" alpine
    kill $busy
    expect_error VALIDATION_ERROR 422 '`mac` value `zz:bb:cc:dd:ee:ff`' -- k3 run -d --json --name f9 --mac-address zz:bb:cc:dd:ee:ff alpine
    expect_error CONTAINER_SERVICE_ERROR 500 "\`/nope\`: exec: no such file or directory" -- k3 run -d --json --name f10 -p "$((hp+2)):80" alpine /nope
    after=$(net_state)
    [ "$before" = "$after" ] || fail "network residue: $(diff <(echo "$before") <(echo "$after"))"
    k3 rm -f holder porter >/dev/null
    expect_eq 0 "$(leases)" "leases"
    ip -br link | grep >/dev/null '^k3-' && fail "veth left: $(ip -br link | grep '^k3-')"
    return 0
}

t_stop_releases_the_veth_and_start_restores_it() {
    httpd sr
    ip=$(ip_of sr)
    h=$(hash_of sr)
    ip link show "k3-${h:0:12}" >/dev/null || fail "no veth while running"
    k3 stop -t 1 sr >/dev/null
    ip link show "k3-${h:0:12}" >/dev/null 2>&1 && fail "veth left after stop"
    [ -e "$ROOT/netns/$h" ] && fail "netns left after stop"
    k3 start sr >/dev/null
    expect_eq "$ip" "$(ip_of sr)" "same IP after restart"
    expect_eq "hello from k3" "$(k3 run --rm --name src alpine timeout 5 wget -qO- "http://$ip/")"
    k3 rm -f sr >/dev/null
}

t_reconcile_removes_leftovers() {
    # Leftovers of a crashed k3: a pinned netns and a veth of no container.
    mkdir -p "$ROOT/netns"
    touch "$ROOT/netns/deadbeefdeadbeef"
    mount --bind /proc/self/ns/net "$ROOT/netns/deadbeefdeadbeef"
    ip link add k3-deadbeefdead type veth peer name k3tmppeer0
    k3 run --rm --name rec alpine true >/dev/null
    [ -e "$ROOT/netns/deadbeefdeadbeef" ] && fail "stale netns kept"
    ip link show k3-deadbeefdead >/dev/null 2>&1 && { ip link del k3-deadbeefdead; fail "stale veth kept"; }
    return 0
}

run_suite
