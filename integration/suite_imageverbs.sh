#!/usr/bin/env bash
# The image, volume, prune and copy verbs a docker/podman user types, each
# checked against podman in the same test: `image ls`, `tag`, `save`/`load`
# (OCI archives podman and skopeo read and write), `push` (verified with skopeo
# and a podman pull), `login`/`logout` (docker's auth file shape, through a
# basic- and a token-auth front), `volume create/inspect/prune`, `container|
# image|system prune`, and `cp` both ways (files, directories, `-` tar
# streams, symlinks in the container that point out of it).
# Ends with `N passed, M failed`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
engine_setup
need podman skopeo tar base64

podman_private
trap 'podman_cleanup; engine_cleanup' EXIT INT TERM
p pull -q --tls-verify=false "$REG/alpine:latest" >/dev/null || { echo "FAIL podman pull"; echo "0 passed, 1 failed"; exit 1; }
k3 pull -q alpine >/dev/null || { echo "FAIL k3 pull"; echo "0 passed, 1 failed"; exit 1; }
PIMG=$REG/alpine:latest
HOSTMARK=$T/host-marker

blobs() { find "$ROOT/blobs" -type f | wc -l; }
manifest_digest() { k3 image inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifest_digest"])'; }

after_each() {
    local c
    for c in c1 c2 c3 cp1 cpm; do k3 rm -f "$c"; p rm -f -t 0 "$c"; done >/dev/null 2>&1
    for v in $(k3 volume ls | python3 -c 'import json,sys; [print(v["name"]) for v in json.load(sys.stdin)]'); do k3 volume rm "$v"; done
    p volume rm -af
    filter_cleanup
    true
}

# --- `images --filter`: this test's own k3 root and podman storage (fk, fp), so that
# only its images are listed; FSOCK is the socket of the daemon it starts on that root
FROOT=$T/froot; FPOD=$T/fpod; FSOCK=$T/froot/k3.sock
fk() { "$K3" --root "$FROOT" "$@"; }
fp() { podman --root "$FPOD/storage" --runroot "$FPOD/run" "$@"; }
filter_cleanup() {
    if [ -f "$T/fdaemon.pid" ]; then kill "$(cat "$T/fdaemon.pid")"; rm -f "$T/fdaemon.pid"; fi
    if [ -d "$FPOD" ]; then fp system reset --force; umount -R "$FPOD/storage"; rm -rf "$FPOD"; fi
    true
} >/dev/null 2>&1
# fl FILTER...: the `--filter` flags of FILTER...
fl() { local a; for a in "$@"; do printf '%s\n' --filter "$a"; done; }
# kset/pset/aset FILTER...: the REPO:TAG rows k3's CLI, podman and k3's API list, sorted,
# on one line, without `$REG/`; a dangling row is `<none>:<none>` (k3 keeps its name)
kset() { local f; mapfile -t f < <(fl "$@"); fk images "${f[@]}" | awk 'NR>1 {print ($2=="<none>" ? "<none>:<none>" : $1":"$2)}' | sed "s|^$REG/||" | sort | tr '\n' ' '; }
pset() { local f; mapfile -t f < <(fl "$@"); fp images "${f[@]}" --format '{{.Repository}}:{{.Tag}}' | sed "s|^$REG/||" | sort | tr '\n' ' '; }
filters_json() { python3 -c 'import json,sys,urllib.parse; d={}
for a in sys.argv[1:]: k,v=a.split("=",1); d.setdefault(k,[]).append(v)
print(urllib.parse.quote(json.dumps(d)))' "$@"; }
aset() {
    curl -sf --unix-socket "$FSOCK" "http://k3/images?filters=$(filters_json "$@")" | python3 -c '
import json,sys
for r in json.load(sys.stdin): print("<none>:<none>" if not r["tag"] else r["name"].removeprefix(sys.argv[1]+"/")+":"+r["tag"])' "$REG" | sort | tr '\n' ' '
}

t_image_ls_is_images_and_tag_names_an_image_as_podman() {
    expect_eq "$(k3 images)" "$(k3 image ls)" "image ls = images"
    k3 tag alpine "$REG/mine:v2"
    p tag "$PIMG" "$REG/mine:v2"
    k3 images | grep >/dev/null "$REG/mine .*v2" || fail "k3 images lacks the new tag: $(k3 images)"
    p images | grep >/dev/null "$REG/mine .*v2" || fail "podman images lacks the new tag"
    # same image id under both names, in both engines
    local id; id=$(k3 images | awk -v r="$REG/alpine" '$1==r {print $3}')
    expect_eq "$id" "$(k3 images | awk -v r="$REG/mine" '$1==r {print $3}')" "k3 image id of the tag"
    expect_eq "$(p images -q "$PIMG")" "$(p images -q "$REG/mine:v2")" "podman image id of the tag"
    # a tag by image id, as `images` shows it
    k3 tag "$id" "$REG/byid:1"
    k3 image inspect "$REG/byid:1" >/dev/null
    # errors: both refuse, k3 names the value
    local out rc=0
    out=$(k3 tag nope:v1 "$REG/x:1" 2>&1) && rc=0 || rc=$?
    [ "$rc" -ne 0 ] || fail "k3 tag of a missing image succeeded"
    expect_contains "$out" '`nope:v1` not found'
    if p tag nope:v1 "$REG/x:1" 2>/dev/null; then fail "podman tag of a missing image succeeded"; fi
    out=$(k3 tag alpine "$REG/x@sha256:$(printf %064d 0)" 2>&1) && fail "tag to a digest succeeded" || true
    expect_contains "$out" "not a digest"
    k3 rmi "$REG/mine:v2" >/dev/null; k3 rmi "$REG/byid:1" >/dev/null
    p rmi "$REG/mine:v2" >/dev/null
}

t_save_loads_in_podman_and_podmans_archive_loads_in_k3() {
    # k3 -> podman
    k3 save -o "$T/k3.tar" alpine
    skopeo inspect "oci-archive:$T/k3.tar" >"$T/k3.inspect"
    expect_contains "$(cat "$T/k3.inspect")" '"Digest": "'"$(manifest_digest alpine)"
    p rmi -f "$PIMG" >/dev/null
    expect_contains "$(p load -i "$T/k3.tar")" "Loaded image"
    expect_eq "from-k3" "$(p run --rm "$PIMG" echo from-k3)" "podman runs what k3 saved"
    # podman -> k3
    p tag "$PIMG" "$REG/frompodman:v1"
    p save --format oci-archive -o "$T/p.tar" "$REG/frompodman:v1"
    expect_contains "$(k3 load -i "$T/p.tar")" "Loaded image: $REG/frompodman:v1"
    expect_eq "from-podman" "$(k3 run --rm "$REG/frompodman:v1" echo from-podman)" "k3 runs what podman saved"
    # the stdout/stdin forms, into a second root
    k3 save alpine | "$K3" --root "$T/root2" load -q >"$T/load2"
    expect_contains "$(cat "$T/load2")" "Loaded image: $REG/alpine:latest"
    expect_eq "$(manifest_digest alpine)" "$("$K3" --root "$T/root2" image inspect alpine | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifest_digest"])')"
    k3 rmi "$REG/frompodman:v1" >/dev/null
}

t_load_of_a_bad_archive_fails_and_leaves_nothing() {
    k3 save -o "$T/good.tar" alpine
    local before; before=$(blobs)
    local r2=$T/root3
    # a flipped byte inside the layer: its digest no longer matches its name
    python3 - "$T/good.tar" "$T/bad.tar" <<'PY'
import sys, tarfile, io
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src) as t, tarfile.open(dst, "w") as o:
    for m in t.getmembers():
        data = t.extractfile(m).read() if m.isfile() else None
        if data is not None and m.size > 100000:
            data = bytearray(data); data[len(data) // 2] ^= 1; data = bytes(data)
        o.addfile(m, io.BytesIO(data) if data is not None else None)
PY
    local out rc=0
    out=$("$K3" --root "$r2" load -i "$T/bad.tar" 2>&1) || rc=$?
    [ "$rc" -ne 0 ] || fail "a corrupt archive loaded"
    expect_contains "$out" "failed verification"
    expect_eq 0 "$(find "$r2/blobs" "$r2/snapshots" -mindepth 2 | wc -l)" "blobs/layers left by the failed load"
    expect_eq 0 "$(find "$r2/tmp" -mindepth 1 | wc -l)" "tmp files left"
    expect_eq "[]" "$("$K3" --root "$r2" images --format json)" "records left"
    # a docker archive is named as such
    p save --format docker-archive -o "$T/docker.tar" "$PIMG"
    out=$("$K3" --root "$r2" load -i "$T/docker.tar" 2>&1) && fail "docker archive loaded" || true
    expect_contains "$out" "docker archive"
    expect_eq "$before" "$(blobs)" "blobs of the main root"
}

t_push_is_pulled_by_skopeo_and_podman() {
    k3 tag alpine "$REG/pushed:v1"
    local out; out=$(k3 push "$REG/pushed:v1")
    local d; d=$(manifest_digest alpine)
    expect_contains "$out" "digest: $d"
    expect_eq "$d" "$(skopeo inspect --tls-verify=false "docker://$REG/pushed:v1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')" "registry digest"
    p pull -q --tls-verify=false "$REG/pushed:v1" >/dev/null
    expect_eq "pushed" "$(p run --rm "$REG/pushed:v1" echo pushed)"
    expect_contains "$out" "2 blobs pushed"
    # IMAGE DESTINATION form: the blobs are linked from the image's own repository
    # (a cross-repository mount), nothing is uploaded, and the copy is whole
    expect_contains "$(k3 push alpine "$REG/pushed2:x")" "0 blobs pushed, 2 already there"
    skopeo copy -q --src-tls-verify=false "docker://$REG/pushed2:x" "oci:$T/pushed2:x"
    expect_contains "$(k3 push alpine "$REG/pushed2:y")" "0 blobs pushed, 2 already there"
    # podman pushes the same image to the same digest
    p push -q --tls-verify=false "$PIMG" "$REG/ppushed:v1"
    skopeo inspect --tls-verify=false "docker://$REG/ppushed:v1" >/dev/null
    out=$(k3 push nope:1 2>&1) && fail "push of a missing image succeeded" || true
    expect_contains "$out" '`nope:1` not found'
    k3 rmi "$REG/pushed:v1" >/dev/null
}

t_login_logout_write_dockers_auth_file_as_podman() {
    local bport tport
    bport=$(free_port); tport=$(free_port)
    python3 "$TOP/integration/authproxy.py" "$bport" "http://$REG" basic bob:pw >"$T/basic.log" 2>&1 &
    PIDS+=($!)
    python3 "$TOP/integration/authproxy.py" "$tport" "http://$REG" bearer alice:s3cret >"$T/bearer.log" 2>&1 &
    PIDS+=($!)
    wait_port "$bport"; wait_port "$tport"
    local af=$T/k3auth.json pf=$T/podauth.json out
    # wrong password: refused, nothing written (k3 and podman)
    out=$(k3 --auth-file "$af" login -u bob -p wrong "127.0.0.1:$bport" 2>&1) && fail "login with a wrong password succeeded" || true
    expect_contains "$out" "denied"
    [ ! -e "$af" ] || fail "auth file written by a failed login"
    if p login --tls-verify=false --authfile "$pf" -u bob -p wrong "127.0.0.1:$bport" >/dev/null 2>&1; then fail "podman login with a wrong password succeeded"; fi
    # right password: the same entry as podman writes
    echo pw | k3 --auth-file "$af" login -u bob --password-stdin "127.0.0.1:$bport" | grep >/dev/null "Login Succeeded"
    p login --tls-verify=false --authfile "$pf" -u bob -p pw "127.0.0.1:$bport" | grep >/dev/null "Login Succeeded"
    local q='import json,sys; print(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"])'
    expect_eq "$(python3 -c "$q" "$pf" "127.0.0.1:$bport")" "$(python3 -c "$q" "$af" "127.0.0.1:$bport")" "auth entry"
    expect_eq 600 "$(stat -c %a "$af")" "auth file mode"
    # token auth: login, then a pull through the front uses the stored login
    k3 --auth-file "$af" login -u alice -p s3cret "127.0.0.1:$tport" >/dev/null
    out=$(k3 --auth-file "$T/none.json" pull "127.0.0.1:$tport/alpine:latest" 2>&1) && fail "pull without login succeeded" || true
    k3 --auth-file "$af" pull -q "127.0.0.1:$tport/alpine:latest"
    # logout removes the entry (the other stays); a second logout fails, as podman's
    k3 --auth-file "$af" logout "127.0.0.1:$bport" | grep >/dev/null "Removed"
    p logout --authfile "$pf" "127.0.0.1:$bport" >/dev/null
    python3 -c "$q" "$af" "127.0.0.1:$tport" >/dev/null
    if python3 -c "$q" "$af" "127.0.0.1:$bport" 2>/dev/null; then fail "entry still there after logout"; fi
    out=$(k3 --auth-file "$af" logout "127.0.0.1:$bport" 2>&1) && fail "second logout succeeded" || true
    expect_contains "$out" "not logged in"
    if p logout --authfile "$pf" "127.0.0.1:$bport" >/dev/null 2>&1; then fail "podman's second logout succeeded"; fi
    k3 rmi "127.0.0.1:$tport/alpine:latest" >/dev/null
}

t_volume_create_inspect_prune_as_podman() {
    expect_eq data1 "$(k3 volume create data1)"
    expect_eq data1 "$(p volume create data1)"
    local k pv
    k=$(k3 volume inspect data1); pv=$(p volume inspect data1)
    for f in Name Driver Scope; do
        expect_eq "$(json_get "$pv" "j[0]['$f']")" "$(json_get "$k" "j[0]['$f']")" "$f"
    done
    [ -d "$(json_get "$k" "j[0]['Mountpoint']")" ] || fail "no Mountpoint dir"
    if k3 volume create data1 2>/dev/null; then fail "k3 created a volume twice"; fi
    if p volume create data1 2>/dev/null; then fail "podman created a volume twice"; fi
    k3 volume create --ignore data1 >/dev/null
    if k3 volume inspect nope 2>/dev/null; then fail "inspect of a missing volume succeeded"; fi
    if p volume inspect nope 2>/dev/null; then fail "podman inspect of a missing volume succeeded"; fi
    out=$(k3 volume create 'bad/name' 2>&1) && fail "bad volume name accepted" || true
    expect_contains "$out" 'invalid volume name `bad/name`'
    # prune: the unused one goes, the used one stays; `n` at the prompt keeps all
    k3 volume create data2 >/dev/null; p volume create data2 >/dev/null
    k3 run -d --name c1 -v data2:/data alpine sleep 100 >/dev/null
    p run -d --name c1 -v data2:/data "$PIMG" sleep 100 >/dev/null
    echo n | k3 volume prune >/dev/null 2>&1
    k3 volume inspect data1 >/dev/null
    expect_eq "$(p volume prune -f | sort)" "$(k3 volume prune -f | sort)" "pruned volumes"
    if k3 volume inspect data1 2>/dev/null; then fail "unused volume kept"; fi
    k3 volume inspect data2 >/dev/null
}

# c1 running, c2 stopped, c3 created: in k3 and in podman
three_containers() {
    k3 run -d --name c1 alpine sleep 100 >/dev/null
    k3 run --name c2 alpine true
    k3 create --name c3 alpine true >/dev/null
    p run -d --name c1 "$PIMG" sleep 100 >/dev/null
    p run --name c2 "$PIMG" true
    p create --name c3 "$PIMG" true >/dev/null
}

t_container_prune_removes_what_podmans_does() {
    three_containers
    echo n | k3 container prune >/dev/null 2>&1
    expect_eq 3 "$(k3 ps -aq | wc -l)" "after answering n"
    local k pm
    k=$(k3 container prune -f | sort | tr '\n' ' ')
    pm=$(p container prune -f >/dev/null; p ps -a --format '{{.Names}}' | sort | tr '\n' ' ')
    expect_eq "c2 c3 " "$k" "k3 removed"
    expect_eq "c1 " "$pm" "podman kept"
    expect_eq "c1" "$(k3 ps -aq)" "k3 kept"
    [ "$(status_of c1)" = RUNNING ] || fail "c1 not running"
}

t_image_prune_dangling_then_all_unused_as_podman() {
    k3 tag alpine "$REG/spare:1"
    p tag "$PIMG" "$REG/spare:1"
    # no untagged images: nothing goes, in either
    k3 image prune -f >/dev/null
    p image prune -f >/dev/null
    k3 image inspect "$REG/spare:1" >/dev/null
    p image exists "$REG/spare:1"
    # an untagged image (pulled by digest, not there by name) is dangling to k3
    # as to docker (podman keeps it: it has a `name@digest` name)
    local d; d=$(skopeo inspect --tls-verify=false "docker://$REG/nginx:latest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')
    k3 pull -q "$REG/nginx@$d"
    expect_contains "$(k3 images)" "<none>"
    expect_contains "$(k3 image prune -f)" "untagged: $REG/nginx@$d"
    [ "$(k3 images | grep -c '<none>')" = 0 ] || fail "dangling image kept"
    # -a: every image no container uses goes; one a container uses stays
    k3 run -d --name c1 alpine sleep 100 >/dev/null
    p run -d --name c1 "$PIMG" sleep 100 >/dev/null
    k3 load -q -i <(p save --format oci-archive "$REG/spare:1") >/dev/null 2>&1 || true
    k3 image prune -af >/dev/null
    p image prune -af >/dev/null
    expect_eq "$(p images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')" "$(k3 images | awk 'NR>1 {print $1":"$2}' | sort | tr '\n' ' ')" "images left"
    k3 rm -f c1 >/dev/null
    k3 pull -q alpine >/dev/null
    p rm -f -t 0 c1 >/dev/null
}

t_system_prune_as_podman() {
    three_containers
    k3 network create --subnet "10.197.$((RANDOM % 200)).0/24" spare-net >/dev/null
    EXTRA_BRIDGES+=("$(k3 network inspect spare-net | python3 -c 'import json,sys; print(json.load(sys.stdin)["bridge"])')")
    k3 volume create sysvol >/dev/null
    local out; out=$(k3 system prune -f)
    expect_contains "$out" "Deleted Containers:"
    expect_eq "c1" "$(k3 ps -aq)" "containers left"
    if k3 network inspect spare-net >/dev/null 2>&1; then fail "unused network kept"; fi
    k3 volume inspect sysvol >/dev/null   # volumes only with --volumes, as podman
    p system prune -f >/dev/null
    expect_eq "c1" "$(p ps -a --format '{{.Names}}')" "podman containers left"
    k3 rm -f c1 >/dev/null
    k3 system prune -f --volumes >/dev/null
    if k3 volume inspect sysvol >/dev/null 2>&1; then fail "unused volume kept by --volumes"; fi
    k3 image inspect alpine >/dev/null   # tagged: kept without -a
}

t_cp_files_and_directories_both_ways_as_podman() {
    k3 run -d --name cp1 alpine sleep 100 >/dev/null
    p run -d --name cp1 "$PIMG" sleep 100 >/dev/null
    mkdir -p "$T/src/dir/sub"
    echo one >"$T/src/dir/a"; echo two >"$T/src/dir/sub/b"; chmod 640 "$T/src/dir/a"
    ln -s a "$T/src/dir/link"
    echo file >"$T/src/f"
    local e
    for e in k3 p; do
        # host -> container: a file to a dir, a file to a new name, a dir to a new name,
        # a dir into an existing dir, a dir's content (`/.`)
        $e cp "$T/src/f" cp1:/tmp/
        $e cp "$T/src/f" cp1:/tmp/renamed
        $e cp "$T/src/dir" cp1:/tmp/newdir
        $e cp "$T/src/dir" cp1:/tmp/newdir
        $e exec cp1 mkdir /tmp/content
        $e cp "$T/src/dir/." cp1:/tmp/content
        $e exec cp1 sh -c 'cd /tmp && find f renamed newdir content | sort; cat newdir/sub/b newdir/dir/a; readlink content/link; stat -c %a newdir/a' >"$T/in.$e"
        # container -> host: as above the other way
        mkdir -p "$T/out.$e"
        $e cp cp1:/etc/passwd "$T/out.$e/"
        $e cp cp1:/tmp/newdir "$T/out.$e/nd"
        $e cp cp1:/tmp/newdir/. "$T/out.$e/nd"
        (cd "$T/out.$e" && find . | sort && stat -c %a nd/a && readlink nd/link) >"$T/out.$e.list"
        # `-`: a tar on stdout / from stdin
        # (docker names directories `d/`, podman `d`: both are tar)
        $e cp cp1:/tmp/newdir - | tar -t | sed "s|/$||" | sort >"$T/tar.$e"
        $e exec cp1 mkdir -p /srv/in
        tar -C "$T/src" -c f | $e cp - cp1:/srv/in
        $e exec cp1 cat /srv/in/f >>"$T/tar.$e"
    done
    expect_eq "$(cat "$T/in.p")" "$(cat "$T/in.k3")" "copied in"
    expect_eq "$(cat "$T/out.p.list")" "$(cat "$T/out.k3.list")" "copied out"
    expect_eq "$(cat "$T/tar.p")" "$(cat "$T/tar.k3")" "tar streams"
    # errors, both refuse
    if k3 cp cp1:/nope "$T/x" 2>/dev/null; then fail "k3 copied a missing path"; fi
    if p cp cp1:/nope "$T/x" 2>/dev/null; then fail "podman copied a missing path"; fi
    if k3 cp "$T/src/dir" cp1:/etc/passwd 2>/dev/null; then fail "k3 copied a dir onto a file"; fi
    if p cp "$T/src/dir" cp1:/etc/passwd 2>/dev/null; then fail "podman copied a dir onto a file"; fi
    out=$(k3 cp nosuch:/x "$T/x" 2>&1) && fail "copy from a missing container" || true
    expect_contains "$out" '`nosuch` does not exist'
}

t_cp_through_bind_mounts_and_volumes_as_podman() {
    local e B
    echo new >"$T/in"; echo cfg >"$T/one.conf"
    for e in k3 p; do
        # each engine its own host directories: one's copies never show in the other
        B=$T/bind.$e; mkdir -p "$B/sub" "$T/ro.$e" "$T/o.$e"
        echo hi >"$B/sub/f"; echo ro >"$T/ro.$e/r"
        ln -s / "$B/esc"; ln -s ../../../../../../.. "$B/up"
        local img=alpine; [ $e = p ] && img=$PIMG
        $e run -d --name cpm -v "$B:/mnt/b" -v cpvol:/data -v "$T/ro.$e:/mnt/ro:ro" \
            -v "$T/one.conf:/etc/one.conf:ro" "$img" sleep 100 >/dev/null
        # out of a bind: a file, the whole mount, a bind-mounted file
        $e cp cpm:/mnt/b/sub/f "$T/o.$e/f"
        $e cp cpm:/mnt/b "$T/o.$e/whole"
        $e cp cpm:/etc/one.conf "$T/o.$e/one"
        # into a bind: a file and a directory land in the host's source
        $e cp "$T/in" cpm:/mnt/b/in
        $e cp "$B/sub" cpm:/mnt/b/copied
        # into and out of a named volume
        $e cp "$T/in" cpm:/data/x
        $e cp cpm:/data/x "$T/o.$e/x"
        (cd "$T/o.$e" && find . | sort && cat f one x) >"$T/olist.$e"
        (cd "$B" && find . | sort && cat in copied/f) >"$T/blist.$e"
        $e exec cpm sh -c 'cat /mnt/b/in /data/x /mnt/b/copied/f' >"$T/seen.$e"
        # a read-only mount takes nothing
        if $e cp "$T/in" cpm:/mnt/ro/x 2>"$T/roerr.$e"; then fail "$e copied into a read-only mount"; fi
        [ ! -e "$T/ro.$e/x" ] || fail "$e wrote into the read-only source"
        # symlinks in a mount never lead to the host's /
        $e cp "$T/in" cpm:/mnt/b/esc/tmp/escaped-$e 2>/dev/null || true
        [ ! -e /tmp/escaped-$e ] || { rm -f /tmp/escaped-$e; fail "$e: a copy left through a link to /"; }
        if $e cp cpm:/mnt/b/up/etc/shadow "$T/o.$e/shadow" 2>/dev/null; then
            ! cmp -s /etc/shadow "$T/o.$e/shadow" || fail "$e read the host's /etc/shadow through .."
        fi
        # a stopped container: still its host source
        $e stop -t 1 cpm >/dev/null
        $e cp "$T/in" cpm:/mnt/b/after
        [ -f "$B/after" ] || fail "$e: a copy into a stopped container's bind"
        $e rm -f cpm >/dev/null
    done
    expect_eq "$(cat "$T/olist.p")" "$(cat "$T/olist.k3")" "copied out"
    expect_eq "$(cat "$T/blist.p")" "$(cat "$T/blist.k3")" "copied into the bind's source"
    expect_eq "$(printf 'new\nnew\nhi')" "$(cat "$T/seen.k3")" "seen in the container"
    expect_eq "$(cat "$T/seen.p")" "$(cat "$T/seen.k3")" "seen as in podman's"
    expect_contains "$(cat "$T/roerr.k3")" "read-only"
    # k3 resolves a link in a mount inside the mount's source: `esc` (to /) is the
    # bind's own root there, where podman follows it in the container's view
    k3 run -d --name cpm -v "$T/bind.k3:/mnt/b" -v "$T/one.conf:/etc/one.conf" alpine sleep 100 >/dev/null
    mkdir "$T/bind.k3/tmp"
    k3 cp "$T/in" cpm:/mnt/b/esc/tmp/inside
    expect_eq new "$(cat "$T/bind.k3/tmp/inside")" "a link to / stays in the source"
    if k3 cp "$T/in" cpm:/etc/one.conf 2>/dev/null; then fail "a copy onto a bind-mounted file"; fi
}

t_cp_never_leaves_the_rootfs_through_symlinks() {
    k3 run -d --name cp1 alpine sleep 100 >/dev/null
    echo host-original >"$HOSTMARK"
    mkdir -p "$T/hostdir"
    # links in the container that point at the host's paths
    k3 exec cp1 sh -c "ln -s / /tmp/root; ln -s ../../../../../../.. /tmp/up; ln -s $HOSTMARK /tmp/mark; ln -s $T/hostdir /tmp/hostdir; echo in-ctr >/ctrfile"
    echo evil >"$T/evil"
    # writes: through /tmp/root, /tmp/up and /tmp/hostdir they land in the rootfs
    k3 cp "$T/evil" cp1:/tmp/root/evil-root
    k3 cp "$T/evil" cp1:/tmp/up/evil-up
    k3 exec cp1 mkdir -p "$T/hostdir"
    k3 cp "$T/evil" cp1:/tmp/hostdir/evil-dir
    expect_eq evil "$(k3 exec cp1 cat /evil-root)"
    expect_eq evil "$(k3 exec cp1 cat /evil-up)"
    expect_eq evil "$(k3 exec cp1 cat "$T/hostdir/evil-dir")"
    [ ! -e /evil-root ] && [ ! -e /evil-up ] || fail "a write left the rootfs"
    [ ! -e "$T/hostdir/evil-dir" ] || fail "a write went to the host's $T/hostdir"
    # a file copied onto a symlink replaces the link, never writes through it
    k3 cp "$T/evil" cp1:/tmp/mark
    expect_eq host-original "$(cat "$HOSTMARK")" "host file behind the link"
    expect_eq evil "$(k3 exec cp1 cat /tmp/mark)"
    # reads: /tmp/up/ctrfile is the container's; a link is copied as a link
    k3 cp cp1:/tmp/up/ctrfile "$T/got"
    expect_eq in-ctr "$(cat "$T/got")"
    k3 exec cp1 ln -sf "$HOSTMARK" /tmp/mark2
    k3 cp cp1:/tmp/mark2 "$T/gotlink"
    [ -L "$T/gotlink" ] || fail "a symlink was followed on copy out"
    out=$(k3 cp cp1:/tmp/mark2/ "$T/x" 2>&1) && fail "followed a link to a host path" || true
    expect_contains "$out" "no such file"
    # tar entries with `..` are refused
    python3 -c '
import tarfile, io, sys
t = tarfile.open(sys.argv[1], "w"); i = tarfile.TarInfo("../../escape"); i.size = 1
t.addfile(i, io.BytesIO(b"x")); t.close()' "$T/dotdot.tar"
    out=$(k3 cp - cp1:/tmp <"$T/dotdot.tar" 2>&1) && fail "a .. entry was accepted" || true
    expect_contains "$out" "refusing tar entry"
    [ ! -e "$ROOT/escape" ] && [ ! -e "$ROOT/overlays/escape" ] || fail "a .. entry escaped"
}

# Builds fbox:latest (app=web tier=front), fbox:v2 (app=db), sub/fbusy:latest (app=web),
# ftools:1.0 and fapp:v1, in that order; pulls them into k3 and podman; then fapp:v1 is
# built again and pulled again: the old fapp image is dangling in both. Every filter
# (and pair) is compared between k3 and podman, and k3's API answers as k3's CLI.
# Where podman 4.3 is not docker, k3 is docker and both answers are asserted:
#   podman matches `reference` also on the last path component (`fbusy`), docker not;
#   podman lists every name of an image one name matches, docker only the names that do;
#   podman ORs `label`s and `before`/`since`s, docker ANDs (the strictest image counts);
#   a dangling image keeps its name in k3's rows (`NAME <none>`, as docker's repo digests
#   keep it) and so matches `reference=NAME`; podman shows `<none>:<none>`;
#   podman's `id=` wants the whole id (64 hex digits), k3's a prefix (as `images` shows);
#   podman takes `reference=[`, `id=xyz` and `label==x` (matching nothing), k3 refuses
#   them (125).
t_images_filter_reference_dangling_label_before_since_as_podman_and_the_api() {
    image_build fbox latest "" --config.label app=web --config.label tier=front
    image_build fbox v2 "" --config.label app=db
    image_build sub/fbusy latest "" --config.label app=web
    image_build ftools 1.0 ""
    image_build fapp v1 ""
    local r
    for r in fbox:latest fbox:v2 sub/fbusy:latest ftools:1.0 fapp:v1; do
        fp pull -q --tls-verify=false "$REG/$r" >/dev/null
        fk pull -q "$REG/$r" >/dev/null
    done
    local old_app; old_app=$(fk images -q --filter reference=fapp:v1)
    image_build fapp v1 "" --config.label rev=2
    fp pull -q --tls-verify=false "$REG/fapp:v1" >/dev/null
    fk pull -q "$REG/fapp:v1" >/dev/null
    "$K3" --root "$FROOT" serve </dev/null >"$T/fdaemon.log" 2>&1 &
    echo $! >"$T/fdaemon.pid"
    for _ in $(seq 100); do curl -s -o /dev/null --unix-socket "$FSOCK" http://k3/api/system && break; sleep 0.1; done
    local all="<none>:<none> fapp:v1 fbox:latest fbox:v2 ftools:1.0 sub/fbusy:latest "
    expect_eq "$all" "$(kset)" "k3 images"
    expect_eq "$all" "$(pset)" "podman images"
    expect_eq "$all" "$(aset)" "GET /images"
    # the same in k3, podman and the API
    local B BF; B=$(fk images -q --filter reference=fbox:v2)
    BF=$(fk images -q --no-trunc --filter reference=fbox:v2); BF=${BF#sha256:}
    local same=(
        "reference=fbox" "reference=*box:latest" "reference=$REG/fbo*" "reference=*/fbusy"
        "reference=fbox;reference=ftools" "dangling=true" "dangling=false" "dangling=1"
        "label=app" "label=app=web" "label=tier=front" "before=$REG/sub/fbusy"
        "since=$REG/fbox:v2" "since=$REG/fbox:latest;dangling=false" "reference=fbox;label=app=db"
        "id=$BF" "reference=nosuch" "before=fbox:v2;since=fbox:v2"
    )
    local c f k
    for c in "${same[@]}"; do
        IFS=';' read -ra f <<<"$c"
        k=$(kset "${f[@]}")
        expect_eq "$(pset "${f[@]}")" "$k" "k3 and podman for $c"
        expect_eq "$k" "$(aset "${f[@]}")" "API and CLI for $c"
    done
    expect_eq "fbox:v2 " "$(kset "id=$B")" "id="
    expect_eq "$old_app" "$(fk images -q --filter dangling=true)" "the dangling image is the old fapp"
    expect_eq "$old_app" "$(fp images -q --filter dangling=true)" "podman's dangling image"
    expect_contains "$(fk images --filter dangling=true)" "$REG/fapp " "k3's dangling row keeps its name"
    # where podman 4.3 is not docker: k3 follows docker (both sides asserted)
    local diffs=(
        "reference=fbusy||sub/fbusy:latest "
        "id=$B|fbox:v2 |" "id=sha256:$BF|fbox:v2 |"
        "reference=fapp|<none>:<none> fapp:v1 |fapp:v1 "
        "label=app=web;label=tier|fbox:latest |fbox:latest sub/fbusy:latest "
        "label=app=web;label=app=db||fbox:latest fbox:v2 sub/fbusy:latest "
        "since=fbox:v2;since=ftools:1.0|<none>:<none> fapp:v1 |<none>:<none> fapp:v1 ftools:1.0 sub/fbusy:latest "
        "before=fapp:v1;before=sub/fbusy|fbox:latest fbox:v2 |<none>:<none> fbox:latest fbox:v2 ftools:1.0 sub/fbusy:latest "
    )
    local want_k want_p
    for c in "${diffs[@]}"; do
        IFS='|' read -r c want_k want_p <<<"$c"
        IFS=';' read -ra f <<<"$c"
        expect_eq "$want_k" "$(kset "${f[@]}")" "k3 (docker's rule) for $c"
        expect_eq "$want_k" "$(aset "${f[@]}")" "API for $c"
        expect_eq "$want_p" "$(pset "${f[@]}")" "podman for $c"
    done
    # -q, --no-trunc, --digests as podman's
    expect_eq "$(fp images -q --filter reference=fbox | sort)" "$(fk images -q --filter reference=fbox | sort)" "-q"
    expect_eq "$(fp images -q --no-trunc --filter since=$REG/fbox:v2 | sort)" "$(fk images -q --no-trunc --filter since=$REG/fbox:v2 | sort)" "-q --no-trunc"
    expect_eq "$(fp images --format '{{.Digest}}' "$REG/fbox:latest")" "$(fk images --digests --filter reference=fbox:latest | awk 'NR>1 {print $3}')" "--digests"
    # a second name: docker (k3) lists only the name that matches, podman every name
    fk tag "$REG/fbox:v2" "$REG/fextra:x"; fp tag "$REG/fbox:v2" "$REG/fextra:x"
    expect_eq "fextra:x " "$(kset reference=fextra)" "k3 reference= with two names"
    expect_eq "fbox:v2 fextra:x " "$(pset reference=fextra)" "podman reference= with two names"
    # a name moved by tag: the image it left is dangling in both (k3's `tag` path)
    fk tag "$REG/ftools:1.0" "$REG/fbox:latest"; fp tag "$REG/ftools:1.0" "$REG/fbox:latest"
    expect_eq "$(fp images -q --filter dangling=true | sort)" "$(fk images -q --filter dangling=true | sort)" "dangling after a tag moved"
    expect_eq 2 "$(fk images -q --filter dangling=true | wc -l)" "k3 dangling images"
    expect_eq "$(pset dangling=false)" "$(kset dangling=false)" "tagged after a tag moved"
    # bad filters: 125 as podman (or where podman takes them, k3 refuses: documented above);
    # the message names --filter and the value; nothing is left behind; the API says 400
    local before_state; before_state=$(fk images --format json; find "$FROOT/blobs" "$FROOT/snapshots" | sort)
    local bad want rc prc out
    for bad in "colour=red|125" "nokey|125" "dangling=x|125" "dangling=true;dangling=false|125" "before=nosuch|125" "since=|125" "label==x|0" "reference=[|0" "id=xyz|0"; do
        IFS='|' read -r c want <<<"$bad"
        IFS=';' read -ra f <<<"$c"
        mapfile -t fs < <(fl "${f[@]}")
        rc=0; out=$(fk images "${fs[@]}" 2>&1) || rc=$?
        expect_eq 125 "$rc" "k3 exit code for $c"
        expect_contains "$out" "\`--filter\` value \`${f[-1]}\`" "k3's message for $c"
        prc=0; fp images "${fs[@]}" >/dev/null 2>&1 || prc=$?
        expect_eq "$want" "$prc" "podman exit code for $c"
        [[ $c == *=* ]] || continue   # (docker's JSON has no filter without a value)
        curl -s -o "$T/fout" -w '%{http_code}' --unix-socket "$FSOCK" "http://k3/images?filters=$(filters_json "${f[@]}")" >"$T/fcode"
        expect_eq 400 "$(cat "$T/fcode")" "API status for $c"
        expect_contains "$(cat "$T/fout")" "\`filters\` value \`${f[-1]}\`" "API message for $c"
    done
    for c in '{' '[1]' '{"reference":"x"}' '{"colour":["red"]}'; do
        curl -s -o "$T/fout" -w '%{http_code}' --unix-socket "$FSOCK" "http://k3/images?filters=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$c")" >"$T/fcode"
        expect_eq 400 "$(cat "$T/fcode")" "API status for $c"
        expect_contains "$(cat "$T/fout")" "\`filters\`" "API message for $c"
    done
    expect_eq "$before_state" "$(fk images --format json; find "$FROOT/blobs" "$FROOT/snapshots" | sort)" "state after the refusals"
}

run_suite
