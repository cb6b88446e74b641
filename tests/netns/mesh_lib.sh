# mesh_lib.sh - the team mesh's test topology (source it after lib.sh).
#
# One L2 segment: a bridge in host "sw"; the hub and devices d1..dN each
# have a veth into it, 10.124.0.1/24 (hub) and 10.124.0.1N/24 (dN). The mesh
# range is 100.80.0.0/24; d1 and d2 are static (.10, .11), the others
# dynamic. The admin directory, identities, hub database, node state and
# logs live in $WORK. Every name is ours (lib.sh prefixes namespaces), and
# each device gets an interface name of its own, unique to this run too
# (mif N), because UAPI and control sockets and pid files are global
# across namespaces.

HUB_URL=http://10.124.0.1:7480
MESH_IFP=m$(($$ % 100000))x

# mif I: the mesh interface of dI in this run.
mif() { echo "$MESH_IFP$1"; }
MESH_NET=acme

# mesh_topology N: the segment, the hub host and N devices.
mesh_topology() {
    local n=$1 i
    host_add sw hub
    on sw ip link add br0 type bridge
    on sw ip link set br0 up
    mesh_attach hub 10.124.0.1
    for ((i = 1; i <= n; i++)); do
        host_add "d$i"
        mesh_attach "d$i" "10.124.0.1$i"
    done
    chmod 755 "$WORK"
    export WEFT_ADMIN_DIR=$WORK/admin
}

# mesh_attach HOST ADDR: a veth from HOST into the bridge.
mesh_attach() {
    local h=$1 addr=$2
    ip link add "sw-$h" netns "${T_NSOF[sw]}" type veth peer name eth0 netns "${T_NSOF[$h]}"
    on sw ip link set "sw-$h" master br0 up
    on "$h" ip addr add "$addr/24" dev eth0
    on "$h" ip link set eth0 up
}

# hub_start: weft-hub in host hub with the network created; the admin key
# in ADMIN_KEY.
hub_start() {
    ADMIN_KEY=$($WEFT admin init --network "$MESH_NET" --range 100.80.0.0/24 2>/dev/null) ||
        die "weft admin init failed"
    [[ -f $WORK/hub.db ]] ||
        "$WEFT_HUB" create-network "$MESH_NET" --admin-key "$ADMIN_KEY" \
            --db "sqlite:$WORK/hub.db" >/dev/null || die "create-network failed"
    hub_run
}

# hub_run: (re)start the hub process on the existing database.
hub_run() {
    spawn hub hub "$WEFT_HUB" --listen 10.124.0.1:7480 --db "sqlite:$WORK/hub.db"
    HUB_PID=$SPAWNED
    wait_for 10 grep -q "listening on" "$WORK/hub.log" || die "the hub did not start"
    # The spawn log is overwritten by a restart: keep earlier lines.
}

# device_identity I: the identity key of dI, its public key in ID[I].
declare -A ID
device_identity() {
    ID[$1]=$(on "d$1" "$WEFT" identity --key "$WORK/d$1.key" 2>/dev/null) ||
        die "weft identity failed on d$1"
}

# device_add I [weft admin add-device args...]
device_add() {
    local i=$1
    shift
    $WEFT admin add-device --owner "owner$i" --device "d$i" --key "${ID[$i]}" "$@" \
        >/dev/null || die "add-device d$i failed"
}

publish() {
    on hub "$WEFT" admin publish --hub "$HUB_URL" >>"$WORK/publish.log" 2>&1 ||
        die "publish failed: $(tail -1 "$WORK/publish.log")"
}

# node_up I [args...]: weft up in dI (interface mI), PID in NODE_PID[I].
declare -A NODE_PID
node_up() {
    local i=$1
    shift
    spawn "d$i" "node$i" "$WEFT" up --hub "$HUB_URL" --network "$MESH_NET" \
        --admin-key "$ADMIN_KEY" --identity "$WORK/d$i.key" \
        --state-dir "$WORK/d$i" --interface "$(mif "$i")" --user nobody "$@"
    NODE_PID[$i]=$SPAWNED
}

# node_up_invite I LINE [args...]: weft up in dI from an invite line.
node_up_invite() {
    local i=$1 line=$2
    shift 2
    spawn "d$i" "node$i" "$WEFT" up --invite "$line" --identity "$WORK/d$i.key" \
        --state-dir "$WORK/d$i" --interface "$(mif "$i")" --user nobody "$@"
    NODE_PID[$i]=$SPAWNED
}

# node_wait_up I SECONDS
node_wait_up() {
    wait_for "$2" grep -qx "up" "$WORK/node$1.log"
}

# mesh_addr I: the address dI printed last.
mesh_addr() {
    grep '^address ' "$WORK/node$1.log" | tail -1 | cut -d' ' -f2
}

# can_ping I J: dI reaches dJ's mesh address.
can_ping() {
    local to
    to=$(mesh_addr "$2")
    [[ -n $to ]] && on "d$1" ping -c1 -W1 -q "$to" >/dev/null 2>&1
}

# node_status I: weft status --json of dI.
node_status() {
    on "d$1" "$WEFT" status "$(mif "$1")" --json
}

# node_stop I: SIGTERM and wait (bounded).
node_stop() {
    local pid=${NODE_PID[$1]}
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null
    wait_for 10 gone "$pid"
}

# ed25519_key NAME: a fresh Ed25519 key as $WORK/NAME.pem; its public key
# (base64) on stdout. For tests that play a forger: openssl signs what
# weft would refuse to.
ed25519_key() {
    { printf '302e020100300506032b657004220420' | xxd -r -p; head -c 32 /dev/urandom; } |
        openssl pkey -inform DER -out "$WORK/$1.pem" 2>/dev/null
    openssl pkey -in "$WORK/$1.pem" -pubout -outform DER | tail -c 32 | base64 -w0
}

# seal TYPE NAME BODYFILE: a signed envelope (docs/mesh-protocol.md) of
# BODYFILE by key NAME.pem, on stdout.
seal() {
    local type=$1 key=$2 body=$3 pub sig
    pub=$(openssl pkey -in "$WORK/$key.pem" -pubout -outform DER | tail -c 32 | base64 -w0)
    { printf 'weft %s v1\n' "$type"; cat "$body"; } >"$WORK/to-sign"
    sig=$(openssl pkeyutl -sign -rawin -inkey "$WORK/$key.pem" -in "$WORK/to-sign" | base64 -w0)
    printf '{"type":"%s","body":"%s","signer":"%s","sig":"%s"}' \
        "$type" "$(base64 -w0 "$body")" "$pub" "$sig"
}

# hub_inject TYPE DEVICE ENV: write a message straight into the hub's
# database, as a compromised hub would; a running hub serves it. Its id in
# INJECTED (hub_uninject ID makes it no longer current, so that the hub's
# own checks go back to the real roster).
hub_inject() {
    local env=${3//\'/\'\'}
    INJECTED=$(sqlite3 "$WORK/hub.db" "INSERT INTO messages(network, type, device, env, current)
        VALUES('$MESH_NET', '$1', '$2', '$env', 1); SELECT last_insert_rowid();") ||
        die "sqlite3 insert failed"
}
hub_uninject() {
    sqlite3 "$WORK/hub.db" "UPDATE messages SET current = 0 WHERE id = $1" ||
        die "sqlite3 update failed"
}

# env_body ENV: the payload of an envelope.
env_body() { jq -r .body <<<"$1" | base64 -d; }
