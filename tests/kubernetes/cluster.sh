#!/usr/bin/env bash
# A throwaway single-node Kubernetes v1.20.2 for the test suite (built by .ci/build-kubernetes).
#
#   cluster.sh up DIR           start etcd, apiserver, controller-manager, scheduler, a private
#                               containerd, kubelet and kube-proxy, all with their state in DIR
#                               (an empty or new directory); writes DIR/kubeconfig; waits until
#                               the node(s) are Ready and the default ServiceAccount has its
#                               token; prints the seconds it took
#   cluster.sh load DIR IMAGE.. copies images from Docker into the cluster's containerd(s)
#   cluster.sh stop-node DIR NAME
#                               kills node NAME's kubelet (a lost node: its containers keep
#                               running, the node goes NotReady; `down` still cleans it all)
#   cluster.sh down DIR         stops everything and undoes every host change (idempotent)
#   cluster.sh env DIR          prints shell exports (KUBECONFIG, PATH, LAB_K8S_CTR_SOCK)
#
# Host changes made by `up` and undone by `down`: sysctls set by kubelet and kube-proxy (their
# old values are recorded in DIR/host-state first), iptables KUBE-* chains (kubelet, kube-proxy),
# the CNI bridge labk8s0 with its masquerade rules and two FORWARD accept rules, /kubepods
# cgroups, mounts under DIR, /var/log/pods and /var/log/containers entries, the CNI result cache.
# With LAB_K8S_NODES=2 also: the second node's network namespace (bind-mounted on DIR/node2/netns)
# with its veth pair labk8s2h, the route to its pods, its /labk8s-node2 cgroups and iptables rules
# commented labk8s-* (FORWARD accepts, the pods' masquerade, a DNAT to the apiserver).
# The apiserver writes an audit log of every request (level Metadata) to DIR/logs/audit.log.
#
# Environment: LAB_K8S_HOME (default /var/cache/lab-kubernetes), LAB_K8S_ETCD_PORT (2379; the
# peer port is +1), LAB_K8S_NODE_IP (default: eth0's IPv4, else the default route's source),
# LAB_K8S_NODES (1 or 2; default 1): with 2, a second node labk8s-node2 (containerd, kubelet,
# kube-proxy) in its own network and mount namespaces at 10.250.0.2, pods in 10.244.1.0/24.
set -euo pipefail

K8S_VERSION=v1.20.2
K8S_HOME=${LAB_K8S_HOME:-/var/cache/lab-kubernetes}
K8S_BIN=$K8S_HOME/$K8S_VERSION/bin
NODE_NAME=labk8s-node
BRIDGE=labk8s0
CNI_NET=labk8s
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/12
API_PORT=6443
ETCD_PORT=${LAB_K8S_ETCD_PORT:-2379}
ETCD_PEER_PORT=$((ETCD_PORT + 1))
KUBELET_PORT=10250
KUBELET_HEALTHZ_PORT=10248
PROXY_HEALTHZ_PORT=10256
PROXY_METRICS_PORT=10249
PAUSE_IMAGE=lab-test/pause:1
NODES=${LAB_K8S_NODES:-1}
# the second node (LAB_K8S_NODES=2): its own network namespace, reached over a veth pair
NODE2_NAME=labk8s-node2
NODE2_BRIDGE=labk8s1               # inside its network namespace
NODE2_POD_CIDR=10.244.1.0/24
NODE2_VETH=labk8s2h                # host side; the node side is eth0 in the namespace
NODE2_NET=10.250.0.0/30            # outside the pods (10.244.0.0/16) and services (10.96.0.0/12)
NODE2_HOST_IP=10.250.0.1           # host side: the node reaches the apiserver here (DNAT)
NODE2_IP=10.250.0.2
NODE2_CGROUP=labk8s-node2          # the second kubelet's cgroupRoot
CLUSTER_CIDR=10.244.0.0/16         # both nodes' pods (kube-proxy --cluster-cidr with 2 nodes)
CNI_BIN_DIR=/usr/lib/cni
# sysctls kubelet (setupKernelTunables), kube-proxy and the CNI bridge plugin may change
SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet
net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
net.netfilter.nf_conntrack_tcp_timeout_close_wait"
HASHSIZE=/sys/module/nf_conntrack/parameters/hashsize
# paths outside DIR that kubelet (hard-coded in v1.20), libcni and libmount write to
OUTSIDE_DIRS="/var/log/pods /var/log/containers /var/lib/cni /var/lib/cni/results /var/lib/kubelet
/var/lib/kubelet/device-plugins /run/mount"
# the order in which `down` stops the daemons
DAEMONS="kubelet kube-proxy node2-kubelet node2-kube-proxy kube-scheduler kube-controller-manager
containerd node2-containerd kube-apiserver etcd"

say() { echo "cluster.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

abspath() {  # absolute, without creating it
  case $1 in /*) echo "${1%/}" ;; *) echo "$(pwd -P)/${1%/}" ;; esac
}

node_ip() {
  if [ -n "${LAB_K8S_NODE_IP:-}" ]; then echo "$LAB_K8S_NODE_IP"; return; fi
  local ip
  ip=$(ip -4 -o addr show dev eth0 scope global 2>/dev/null | awk '{split($4,a,"/"); print a[1]; exit}')
  if [ -z "$ip" ]; then
    ip=$(ip -4 route get 192.0.2.255 2>/dev/null | awk '{for (i=1;i<NF;i++) if ($i=="src") {print $(i+1); exit}}')
  fi
  [ -n "$ip" ] || die "cannot find the node IP (no IPv4 on eth0); set LAB_K8S_NODE_IP"
  echo "$ip"
}

port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# --- certificates -------------------------------------------------------------------------
# EC P-256 keys in PKCS#8: fast to make, read by every component of v1.20 and by rustls.
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# cert NAME SUBJECT EXT [SAN]: a leaf signed by the CA in $PKI
cert() {
  local name=$1 subj=$2 eku=$3 san=${4:-}
  newkey "$PKI/$name.key"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$PKI/$name.ext"
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

make_pki() {
  local ip=$1 extra_san=""
  [ "$NODES" != 2 ] || extra_san=",IP:$NODE2_HOST_IP"
  mkdir -p "$PKI"
  newkey "$PKI/ca.key"
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=labk8s-ca" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/ca.crt" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,IP:10.96.0.1,IP:$ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:$NODE_NAME$extra_san"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  cert admin "/O=system:masters/CN=lab-admin" clientAuth
  cert controller-manager "/CN=system:kube-controller-manager" clientAuth
  cert scheduler "/CN=system:kube-scheduler" clientAuth
  cert kube-proxy "/CN=system:kube-proxy" clientAuth
  cert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  cert kubelet-server "/CN=$NODE_NAME" serverAuth "IP:$ip,IP:127.0.0.1,DNS:$NODE_NAME,DNS:localhost"
  if [ "$NODES" = 2 ]; then
    cert node2-kubelet-client "/O=system:nodes/CN=system:node:$NODE2_NAME" clientAuth
    cert node2-kubelet-server "/CN=$NODE2_NAME" serverAuth "IP:$NODE2_IP,IP:127.0.0.1,DNS:$NODE2_NAME,DNS:localhost"
  fi
  newkey "$PKI/sa.key"
  openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*.key
}

# kubeconfig FILE CERTNAME [SERVER]: certificates embedded, so the file stands alone
kubeconfig() {
  local file=$1 name=$2 server=${3:-https://127.0.0.1:$API_PORT}
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: labk8s
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 <"$PKI/$name.crt")
    client-key-data: $(base64 -w0 <"$PKI/$name.key")
contexts:
- name: labk8s
  context:
    cluster: labk8s
    user: $name
    namespace: default
current-context: labk8s
EOF
  chmod 600 "$file"
}

# --- processes ----------------------------------------------------------------------------
# start NAME CMD...: detached (own session), log in DIR/logs/NAME.log, pid in DIR/pids/NAME.pid
start() {
  local name=$1; shift
  setsid "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 &
  echo $! >"$DIR/pids/$name.pid"
}

# start_kubelet NAME STATE_DIR CONTAINERD_SOCK NODE_NAME NODE_IP [LAUNCHER...]: a node's
# kubelet, with its config, kubeconfig and state under STATE_DIR (run through LAUNCHER, e.g.
# nsenter into the second node's namespaces).
start_kubelet() {
  local name=$1 dir=$2 sock=$3 node=$4 ip=$5; shift 5
  start "$name" "$@" "$K8S_BIN/kubelet" \
    --config "$dir/kubelet/config.yaml" --kubeconfig "$dir/kubelet.kubeconfig" \
    --root-dir "$dir/kubelet" --cert-dir "$dir/kubelet/pki" \
    --container-runtime remote --container-runtime-endpoint "unix://$sock" \
    --runtime-request-timeout 2m \
    --hostname-override "$node" --node-ip "$ip"
}

# start_kube_proxy NAME STATE_DIR NODE_NAME NODE_IP CLUSTER_CIDR [LAUNCHER...]
start_kube_proxy() {
  local name=$1 dir=$2 node=$3 ip=$4 cidr=$5; shift 5
  start "$name" "$@" "$K8S_BIN/kube-proxy" \
    --kubeconfig "$dir/kube-proxy.kubeconfig" --hostname-override "$node" \
    --proxy-mode iptables --cluster-cidr "$cidr" \
    --bind-address "$ip" --healthz-bind-address "127.0.0.1:$PROXY_HEALTHZ_PORT" \
    --metrics-bind-address "127.0.0.1:$PROXY_METRICS_PORT" \
    --conntrack-max-per-core 0 --conntrack-tcp-timeout-established 0 --conntrack-tcp-timeout-close-wait 0 \
    --iptables-sync-period 10s --iptables-min-sync-period 0s
}

alive() { [ -f "$DIR/pids/$1.pid" ] && kill -0 "$(cat "$DIR/pids/$1.pid")" 2>/dev/null; }

check_alive() {
  local n
  for n in "$@"; do
    alive "$n" || { say "$n exited; last lines of $DIR/logs/$n.log:"; tail -n 25 "$DIR/logs/$n.log" >&2; exit 1; }
  done
}

# wait_for SECONDS WHAT CMD...: retry CMD every 0.2 s, checking the daemons keep running
wait_for() {
  local secs=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    check_alive $STARTED
    [ "$(date +%s)" -lt "$deadline" ] || die "timed out after ${secs}s waiting for $what (logs in $DIR/logs)"
    sleep 0.2
  done
}

kctl() { "$K8S_BIN/kubectl" --kubeconfig "$DIR/kubeconfig" --cache-dir "$DIR/kubectl-cache" "$@"; }
ctr_() { ctr --address "$DIR/containerd/containerd.sock" --namespace k8s.io "$@"; }
ctr_at() { local sock=$1; shift; ctr --address "$sock" --namespace k8s.io "$@"; }
# the containerd sockets of this cluster's nodes (the second one when it was set up)
node_socks() {
  echo "$DIR/containerd/containerd.sock"
  [ ! -f "$N2/containerd/config.toml" ] || echo "$N2/containerd/containerd.sock"
}
n2() { nsenter --net="$N2/netns" "$@"; }  # run in the second node's network namespace

node_ready() {  # node_ready NAME
  [ "$(kctl get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
default_sa_ready() {
  [ -n "$(kctl -n default get serviceaccount default -o 'jsonpath={.secrets[0].name}')" ]
}

# --- host state ---------------------------------------------------------------------------
# DIR/host-state, with a copy in /run/lab-kubernetes (so `down` can still restore the host if
# DIR was deleted under a running cluster)
STATE_COPY_DIR=/run/lab-kubernetes
state_copy() { echo "$STATE_COPY_DIR/$(echo "$DIR" | sha256sum | cut -c1-16).host-state"; }
state_file() {  # the host-state `down` should use
  if [ -f "$DIR/host-state" ]; then echo "$DIR/host-state"; else state_copy; fi
}

record_host_state() {
  local f=$DIR/host-state s v
  [ -f "$f" ] && return 0
  {
    for s in $SYSCTLS; do
      v=$(sysctl -n "$s" 2>/dev/null) || continue
      printf 'sysctl %s %s\n' "$s" "$(echo "$v" | tr '\t' ' ')"
    done
    [ -r "$HASHSIZE" ] && printf 'hashsize %s\n' "$(cat "$HASHSIZE")"
    # paths kubelet, libcni and libmount write outside DIR: what was there before
    for d in $OUTSIDE_DIRS; do
      if [ -e "$d" ]; then
        echo "existed $d"
        find "$d" -mindepth 1 -maxdepth 1 -printf "entry $d %f\n" 2>/dev/null
      else
        echo "absent $d"
      fi
    done
    for ipt in iptables ip6tables; do
      "$ipt-save" 2>/dev/null | awk -v ipt="$ipt" '/^\*/ { print "table " ipt " " substr($1, 2) }'
      for t in filter nat mangle raw; do
        "$ipt-save" -t "$t" 2>/dev/null | awk -v ipt="$ipt" -v t="$t" '/^:/ { print "chain " ipt " " t " " substr($1, 2) }'
      done
    done
  } >"$f.tmp"
  mv "$f.tmp" "$f"
  mkdir -p "$STATE_COPY_DIR" && cp "$f" "$(state_copy)"
}

restore_host_state() {
  local f=$HOST_STATE
  [ -f "$f" ] || return 0
  local kind key val cur
  while read -r kind key val; do
    case $kind in
      sysctl)
        cur=$(sysctl -n "$key" 2>/dev/null | tr '\t' ' ') || continue
        [ "$cur" = "$val" ] || sysctl -q -w "$key=$val" >/dev/null 2>&1 || say "could not restore $key=$val"
        ;;
      hashsize)
        [ ! -w "$HASHSIZE" ] || [ "$(cat "$HASHSIZE")" = "$key" ] || echo "$key" >"$HASHSIZE" 2>/dev/null || true
        ;;
    esac
  done <"$f"
}

# iptables: drop the rules that jump to chains made by this cluster, then those chains
clean_iptables() {
  local ipt t chain rule rules drop cni_chains
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null 2>&1 || continue
    for t in filter nat mangle raw; do
      rules=$("$ipt" -w -t "$t" -S 2>/dev/null) || continue
      # rules outside KUBE-* chains that jump to KUBE-* chains, our FORWARD rules, and the
      # masquerade rules of our CNI network (comment: name: "labk8s" id: "...")
      cni_chains=""
      while read -r rule; do
        [ -n "$rule" ] || continue
        chain=$(echo "$rule" | awk '{print $2}')
        case $chain in KUBE-*) continue ;; esac
        case $rule in
          *"name: \\\"$CNI_NET\\\""*)
            cni_chains="$cni_chains $(echo "$rule" | sed -n 's/.* -j \(CNI-[A-Za-z0-9-]*\).*/\1/p')" ;;
        esac
        eval "$ipt -w -t $t ${rule/-A /-D }" 2>/dev/null || true
      done < <(echo "$rules" | grep -v -- '^-A KUBE-' | grep -E -- "^-A .*(-j KUBE-|--comment \"?$CNI_NET-(forward|masq|node2)|name: .*$CNI_NET)" || true)
      # chains to drop: KUBE-* that were not there before `up`, and the CNI chains found above
      drop=""
      for chain in $(echo "$rules" | awk '$1=="-N" && $2 ~ /^KUBE-/ {print $2}'); do
        if [ -f "$HOST_STATE" ] && grep -qx "chain $ipt $t $chain" "$HOST_STATE"; then continue; fi
        drop="$drop $chain"
      done
      drop="$drop $cni_chains"
      for chain in $drop; do "$ipt" -w -t "$t" -F "$chain" 2>/dev/null || true; done
      for chain in $drop; do "$ipt" -w -t "$t" -X "$chain" 2>/dev/null || true; done
      # an nftables table that kubelet brought into being (mangle): drop it again when empty
      if [ -f "$HOST_STATE" ] && ! grep -qx "table $ipt $t" "$HOST_STATE" && command -v nft >/dev/null 2>&1 &&
         "$ipt" -V 2>/dev/null | grep -q nf_tables && ! "$ipt" -w -t "$t" -S 2>/dev/null | grep -qv '^-P '; then
        if [ "$ipt" = iptables ]; then nft delete table ip "$t" 2>/dev/null || true; else nft delete table ip6 "$t" 2>/dev/null || true; fi
      fi
    done
  done
}

# the cgroup trees of this cluster's pods: /kubepods (first node), /labk8s-node2 (second node)
CGROUP_ROOTS="kubepods $NODE2_CGROUP"

# kill every process of this cluster's containers: all tasks in its pod cgroups
kill_pod_processes() {
  local round pids r h dirs
  for round in 1 2 3 4 5 6 7 8 9 10; do
    dirs=""
    for r in $CGROUP_ROOTS; do
      for h in pids memory; do [ ! -d "/sys/fs/cgroup/$h/$r" ] || dirs="$dirs /sys/fs/cgroup/$h/$r"; done
    done
    [ -n "$dirs" ] || return 0
    # shellcheck disable=SC2086
    pids=$(find $dirs -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u || true)
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    sleep 0.2
  done
}

# pids of processes whose command line names this DIR and whose program is one of ours
cluster_pids() {
  local p comm
  while read -r p comm; do
    [ "$p" != $$ ] || continue
    case $comm in
      etcd|kube-apiserver|kube-controller|kube-scheduler|kubelet|kube-proxy|containerd|containerd-shim*) ;;
      *) continue ;;
    esac
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$DIR/" && echo "$p"
  done < <(ps -e -o pid=,comm=)
  return 0
}

# stop_pids SIGNAL PID...: signal them all, wait up to ~5 s, then KILL what is left
stop_pids() {
  local sig=$1 i p left; shift
  [ $# -gt 0 ] || return 0
  kill "-$sig" "$@" 2>/dev/null || true
  for i in $(seq 1 50); do
    left=""
    for p in "$@"; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
    [ -n "$left" ] || return 0
    [ "$i" != 25 ] || kill -KILL $left 2>/dev/null || true
    sleep 0.1
  done
}

pids_of() {  # pids_of NAME...: from DIR/pids
  local n
  for n in "$@"; do [ -f "$DIR/pids/$n.pid" ] && cat "$DIR/pids/$n.pid"; done
  return 0
}

remove_cgroups() {
  local mnt i left r
  for i in 1 2 3 4 5 6 7 8 9 10; do
    left=0
    for mnt in $(awk '$3=="cgroup" || $3=="cgroup2" {print $2}' /proc/mounts); do
      for r in $CGROUP_ROOTS; do
        [ -d "$mnt/$r" ] || continue
        find "$mnt/$r" -depth -type d -exec rmdir {} \; 2>/dev/null || true
        [ ! -d "$mnt/$r" ] || left=1
      done
    done
    [ "$left" = 1 ] || return 0
    kill_pod_processes
    sleep 0.3
  done
  say "warning: some /kubepods or /$NODE2_CGROUP cgroups could not be removed"
}

# the second kubelet's cgroupRoot, in every hierarchy (kubelet requires it to exist); cpuset
# needs its cpus and mems before tasks or children can use it
make_node2_cgroups() {
  local mnt
  for mnt in $(awk '$3=="cgroup" || $3=="cgroup2" {print $2}' /proc/mounts); do
    mkdir -p "$mnt/$NODE2_CGROUP"
    if [ -f "$mnt/cpuset.cpus" ] && [ -f "$mnt/$NODE2_CGROUP/cpuset.cpus" ]; then
      cat "$mnt/cpuset.cpus" >"$mnt/$NODE2_CGROUP/cpuset.cpus"
      cat "$mnt/cpuset.mems" >"$mnt/$NODE2_CGROUP/cpuset.mems"
    fi
  done
}

# the second node's network: a namespace bind-mounted on DIR/node2/netns, a veth pair (host
# $NODE2_HOST_IP, node $NODE2_IP as eth0), a host route to its pods, and host iptables rules
# (all commented $CNI_NET-*, which `down` deletes): FORWARD accepts, masquerade of the pods'
# traffic leaving the cluster, and a DNAT of $NODE2_HOST_IP:$API_PORT to the apiserver on
# 127.0.0.1 (route_localnet on the veth lets it through), for the node's own address only
setup_node2_network() {
  mkdir -p "$N2"
  : >"$N2/netns"
  unshare --net="$N2/netns" true
  ip link add "$NODE2_VETH" type veth peer name labk8s2n
  ip link set labk8s2n netns "$N2/netns"
  n2 ip link set labk8s2n name eth0
  n2 ip addr add "$NODE2_IP/30" dev eth0
  n2 ip link set lo up
  n2 ip link set eth0 up
  n2 ip route add default via "$NODE2_HOST_IP"
  n2 sysctl -q -w net.ipv4.ip_forward=1
  ip addr add "$NODE2_HOST_IP/30" dev "$NODE2_VETH"
  ip link set "$NODE2_VETH" up
  sysctl -q -w "net.ipv4.conf.$NODE2_VETH.route_localnet=1"
  ip route add "$NODE2_POD_CIDR" via "$NODE2_IP" dev "$NODE2_VETH"
  iptables -w -t nat -A PREROUTING -i "$NODE2_VETH" -s "$NODE2_IP" -d "$NODE2_HOST_IP" -p tcp --dport "$API_PORT" \
    -m comment --comment "$CNI_NET-node2-apiserver" -j DNAT --to-destination "127.0.0.1:$API_PORT"
  iptables -w -t nat -A POSTROUTING -s "$CLUSTER_CIDR" ! -d "$CLUSTER_CIDR" -m comment --comment "$CNI_NET-masq" -j MASQUERADE
  iptables -w -t nat -A POSTROUTING -s "$NODE2_IP" ! -d "$CLUSTER_CIDR" -m comment --comment "$CNI_NET-masq" -j MASQUERADE
  iptables -w -I FORWARD 1 -i "$NODE2_VETH" -m comment --comment "$CNI_NET-forward" -j ACCEPT
  iptables -w -I FORWARD 1 -o "$NODE2_VETH" -m comment --comment "$CNI_NET-forward" -j ACCEPT
}

unmount_dir() {
  local i m left
  for i in 1 2 3 4 5; do
    left=0
    # mount points under DIR, deepest first (mountinfo field 5; octal escapes decoded)
    while read -r m; do
      [ -n "$m" ] || continue
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || left=1
    done < <(awk '{print $5}' /proc/self/mountinfo | while read -r m; do printf '%b\n' "$m"; done |
             grep -F -- "$DIR/" | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-)
    awk '{print $5}' /proc/self/mountinfo | grep -qF -- "$DIR/" || return 0
    sleep 0.2
  done
  say "warning: mounts left under $DIR"
}

# --- up -------------------------------------------------------------------------------------
cmd_up() {
  local t0 ip b missing=""
  t0=$(date +%s.%N)
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    [ -x "$K8S_BIN/$b" ] || missing="$missing $b"
  done
  [ -z "$missing" ] || die "missing Kubernetes binaries in $K8S_BIN:$missing (build them with .ci/build-kubernetes)"
  for b in etcd containerd containerd-shim-runc-v2 runc ctr docker openssl iptables ip ss; do
    command -v "$b" >/dev/null 2>&1 || missing="$missing $b"
  done
  [ -x "$CNI_BIN_DIR/bridge" ] && [ -x "$CNI_BIN_DIR/host-local" ] && [ -x "$CNI_BIN_DIR/loopback" ] ||
    missing="$missing $CNI_BIN_DIR/{bridge,host-local,loopback}(containernetworking-plugins)"
  command -v busybox >/dev/null 2>&1 || [ -x /bin/busybox ] || missing="$missing busybox(busybox-static)"
  case $NODES in 1|2) ;; *) die "LAB_K8S_NODES must be 1 or 2 (not $NODES)" ;; esac
  [ "$NODES" = 1 ] || for b in nsenter unshare sysctl; do
    command -v "$b" >/dev/null 2>&1 || missing="$missing $b"
  done
  [ -z "$missing" ] || die "missing:$missing (install them with .ci/build-kubernetes)"
  [ "$(id -u)" = 0 ] || die "must run as root"

  mkdir -p "$DIR"
  [ -z "$(ls -A "$DIR" 2>/dev/null)" ] || die "$DIR is not empty (use a fresh directory; run 'down' on an old one)"
  local sock=$DIR/containerd/containerd.sock
  [ ${#sock} -lt 100 ] || die "$sock is too long for a unix socket; use a shorter DIR"
  for b in $API_PORT $ETCD_PORT $ETCD_PEER_PORT $KUBELET_PORT $KUBELET_HEALTHZ_PORT $PROXY_HEALTHZ_PORT $PROXY_METRICS_PORT; do
    port_in_use "$b" && die "port $b is in use (another cluster running? 'cluster.sh down' it first)"
  done
  ip link show "$BRIDGE" >/dev/null 2>&1 && die "bridge $BRIDGE exists: another cluster is running, or run 'cluster.sh down' on it"
  [ ! -d /sys/fs/cgroup/pids/kubepods ] || die "/sys/fs/cgroup/*/kubepods exists: another kubelet is running or was not cleaned up"
  if [ "$NODES" = 2 ]; then
    ip link show "$NODE2_VETH" >/dev/null 2>&1 && die "link $NODE2_VETH exists: another cluster is running, or run 'cluster.sh down' on it"
    [ ! -d "/sys/fs/cgroup/pids/$NODE2_CGROUP" ] || die "/sys/fs/cgroup/*/$NODE2_CGROUP exists: another cluster is running or was not cleaned up"
    ! ip route show | grep -qE "^($NODE2_NET|$NODE2_POD_CIDR) " || die "a route to $NODE2_NET or $NODE2_POD_CIDR exists already"
    ! ip -4 -o addr show | grep -qwE "inet ($NODE2_HOST_IP|$NODE2_IP)" || die "address $NODE2_HOST_IP or $NODE2_IP is in use on this host"
  fi

  ip=$(node_ip)
  mkdir -p "$DIR/logs" "$DIR/pids" "$DIR/etcd" "$DIR/containerd" "$DIR/cni/net.d" "$DIR/cni/ipam" \
    "$DIR/kubelet" "$DIR/images"
  chmod 700 "$DIR/etcd"
  record_host_state
  trap 'rc=$?; [ "$rc" = 0 ] || say "up failed; undo what was started with: $0 down $DIR"' EXIT
  echo "$ip" >"$DIR/node-ip"
  echo "$NODES" >"$DIR/nodes"
  STARTED=""
  local cluster_cidr=$POD_CIDR masq=true
  # with two nodes the bridge plugin must not masquerade traffic between the nodes' pods: one
  # host rule (setup_node2_network) masquerades what leaves 10.244.0.0/16 instead
  [ "$NODES" = 1 ] || { cluster_cidr=$CLUSTER_CIDR; masq=false; }

  PKI=$DIR/pki
  make_pki "$ip"
  kubeconfig "$DIR/kubeconfig" admin
  kubeconfig "$DIR/controller-manager.kubeconfig" controller-manager
  kubeconfig "$DIR/scheduler.kubeconfig" scheduler
  kubeconfig "$DIR/kube-proxy.kubeconfig" kube-proxy
  kubeconfig "$DIR/kubelet.kubeconfig" kubelet-client
  write_audit_policy

  # etcd
  start etcd etcd --name labk8s --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "labk8s=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
    --snapshot-count 10000 --log-level warn
  STARTED="etcd"

  # containerd (its own root, state, socket; CRI on)
  write_containerd_config "$DIR/containerd" "$DIR/cni/net.d"
  write_cni_config "$DIR/cni" "$BRIDGE" "$POD_CIDR" "$masq"
  start containerd containerd --config "$DIR/containerd/config.toml"
  STARTED="$STARTED containerd"
  [ "$NODES" = 1 ] || start_node2_containerd

  wait_for 30 etcd curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

  start kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --secure-port "$API_PORT" --insecure-port 0 --advertise-address "$ip" \
    --allow-privileged=true --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --profiling=false --event-ttl 10m \
    --audit-policy-file "$DIR/audit-policy.yaml" --audit-log-path "$DIR/logs/audit.log" \
    --audit-log-maxsize 100 --audit-log-maxbackup 3
  STARTED="$STARTED kube-apiserver"

  # the pause image, while the apiserver starts
  wait_for 30 containerd ctr_ version
  [ "$NODES" = 1 ] || wait_for 30 "node2's containerd" ctr_at "$N2/containerd/containerd.sock" version
  build_local_images
  import_images "lab-test/pause:1"

  wait_for 60 "kube-apiserver /readyz" kctl get --raw /readyz

  start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$DIR/controller-manager.kubeconfig" \
    --leader-elect=false --port 0 --secure-port 0 --use-service-account-credentials=true \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false \
    --controllers '*,-bootstrapsigner,-tokencleaner,-csrsigning,-csrapproving,-csrcleaner' \
    --node-monitor-grace-period 20s --pod-eviction-timeout 30s
  start kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig "$DIR/scheduler.kubeconfig" \
    --leader-elect=false --port 0 --secure-port 0
  STARTED="$STARTED kube-controller-manager kube-scheduler"

  write_kubelet_config "$DIR/kubelet/config.yaml" "$ip" kubelet-server ""
  start_kubelet kubelet "$DIR" "$sock" "$NODE_NAME" "$ip"
  start_kube_proxy kube-proxy "$DIR" "$NODE_NAME" "$ip" "$cluster_cidr"
  STARTED="$STARTED kubelet kube-proxy"
  [ "$NODES" = 1 ] || start_node2_kubelet

  # pod traffic across the bridge must pass a FORWARD policy of DROP (Docker sets one)
  iptables -w -I FORWARD 1 -i "$BRIDGE" -m comment --comment "$CNI_NET-forward" -j ACCEPT
  iptables -w -I FORWARD 1 -o "$BRIDGE" -m comment --comment "$CNI_NET-forward" -j ACCEPT

  wait_for 120 "node $NODE_NAME Ready" node_ready "$NODE_NAME"
  [ "$NODES" = 1 ] || wait_for 120 "node $NODE2_NAME Ready" node_ready "$NODE2_NAME"
  wait_for 60 "the default ServiceAccount's token" default_sa_ready
  awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f\n", a - b }'
}

# every request at level Metadata (who, verb, URI, userAgent, response code, timestamps)
write_audit_policy() {
  cat >"$DIR/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
EOF
}

# write_kubelet_config FILE ADDRESS CERTNAME CGROUPROOT
write_kubelet_config() {
  local file=$1 addr=$2 certname=$3 cgroot=$4
  cat >"$file" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $addr
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/$certname.crt
tlsPrivateKeyFile: $PKI/$certname.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
failSwapOn: false
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 50Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
volumeStatsAggPeriod: 0s
EOF
  [ -z "$cgroot" ] || echo "cgroupRoot: $cgroot" >>"$file"
}

# The second node: its containerd, kubelet and kube-proxy run in its network namespace
# (nsenter --net; `ip netns exec` would remount /sys and break kubelet's cgroup discovery).
# containerd and kubelet also share a private mount namespace (made by containerd's unshare)
# where DIR/node2/host/* is bind-mounted on /var/lib/kubelet, /var/log/pods and
# /var/log/containers: kubelet v1.20 hard-codes those paths, and each kubelet's garbage
# collector deletes the log directories of pods it does not know — the other node's.
start_node2_containerd() {
  local d
  setup_node2_network
  make_node2_cgroups
  mkdir -p "$N2/logs" "$N2/cni/net.d" "$N2/cni/ipam" "$N2/kubelet" "$N2/host/var-lib-kubelet" \
    "$N2/host/var-log-pods" "$N2/host/var-log-containers"
  # the mount points (recorded as absent or present in host-state; `down` restores that)
  for d in /var/lib/kubelet /var/log/pods /var/log/containers; do mkdir -p "$d"; done
  write_containerd_config "$N2/containerd" "$N2/cni/net.d"
  write_cni_config "$N2/cni" "$NODE2_BRIDGE" "$NODE2_POD_CIDR" false
  kubeconfig "$N2/kubelet.kubeconfig" node2-kubelet-client "https://$NODE2_HOST_IP:$API_PORT"
  kubeconfig "$N2/kube-proxy.kubeconfig" kube-proxy "https://$NODE2_HOST_IP:$API_PORT"
  # setsid, nsenter, unshare and sh all exec: the recorded pid is containerd's
  start node2-containerd nsenter --net="$N2/netns" unshare --mount --propagation private sh -c '
    mount --bind "$1/host/var-lib-kubelet" /var/lib/kubelet &&
    mount --bind "$1/host/var-log-pods" /var/log/pods &&
    mount --bind "$1/host/var-log-containers" /var/log/containers &&
    exec containerd --config "$1/containerd/config.toml"' node2-containerd "$N2"
  STARTED="$STARTED node2-containerd"
}

start_node2_kubelet() {
  local cpid
  cpid=$(cat "$DIR/pids/node2-containerd.pid")
  write_kubelet_config "$N2/kubelet/config.yaml" "$NODE2_IP" node2-kubelet-server "/$NODE2_CGROUP"
  start_kubelet node2-kubelet "$N2" "$N2/containerd/containerd.sock" "$NODE2_NAME" "$NODE2_IP" \
    nsenter --net="$N2/netns" --mount="/proc/$cpid/ns/mnt"
  start_kube_proxy node2-kube-proxy "$N2" "$NODE2_NAME" "$NODE2_IP" "$CLUSTER_CIDR" \
    nsenter --net="$N2/netns"
  STARTED="$STARTED node2-kubelet node2-kube-proxy"
}

# write_containerd_config CONTAINERD_DIR CNI_CONF_DIR
write_containerd_config() {
  local c=$1 cni_conf=$2
  mkdir -p "$c/root" "$c/state" "$c/opt" "$c/runc"
  cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$c/containerd.sock"

[ttrpc]
  address = ""

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$c/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$cni_conf"
    max_conf_num = 1
EOF
}

# write_cni_config CNI_DIR BRIDGE SUBNET IPMASQ
write_cni_config() {
  local d=$1 bridge=$2 subnet=$3 masq=$4
  cat >"$d/net.d/10-$CNI_NET.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": true,
      "ipMasq": $masq,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$d/ipam",
        "ranges": [[{ "subnet": "$subnet" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "loopback" }
  ]
}
EOF
}

# the pause image (and a busybox image for tests) built FROM scratch with Debian's static busybox
build_local_images() {
  local bb ctx
  bb=$(command -v busybox 2>/dev/null || echo /bin/busybox)
  if ! docker image inspect "$PAUSE_IMAGE" >/dev/null 2>&1; then
    ctx=$DIR/images/pause
    mkdir -p "$ctx"
    cp "$bb" "$ctx/busybox"
    cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
ENTRYPOINT ["/bin/busybox", "sleep", "2147483647"]
EOF
    docker build -q -t "$PAUSE_IMAGE" "$ctx" >"$DIR/logs/docker-build.log" 2>&1 || {
      cat "$DIR/logs/docker-build.log" >&2; die "docker build of $PAUSE_IMAGE failed"; }
    rm -rf "$ctx"
  fi
}

# import_images IMAGE...: into every node's containerd (with two nodes, from one `docker save`
# to a file, imported by both in parallel)
import_images() {
  local socks sock tar pids="" p rc=0
  socks=$(node_socks)
  if [ "$(echo "$socks" | wc -l)" = 1 ]; then
    docker save "$@" | ctr_at "$socks" images import --snapshotter native - >/dev/null
    return
  fi
  tar=$DIR/images/import-$$.tar
  docker save -o "$tar" "$@"
  for sock in $socks; do
    ctr_at "$sock" images import --snapshotter native "$tar" >/dev/null &
    pids="$pids $!"
  done
  for p in $pids; do wait "$p" || rc=1; done
  rm -f "$tar"
  [ "$rc" = 0 ] || die "importing $* failed"
}

cmd_load() {
  [ $# -gt 0 ] || die "usage: cluster.sh load DIR IMAGE..."
  local i
  for i in $(node_socks); do [ -S "$i" ] || die "no containerd socket $i (is the cluster up?)"; done
  for i in "$@"; do docker image inspect "$i" >/dev/null 2>&1 || die "no Docker image $i"; done
  import_images "$@"
}

# --- down ------------------------------------------------------------------------------------
cmd_down() {
  HOST_STATE=$(state_file)
  if [ ! -d "$DIR" ] && [ ! -f "$HOST_STATE" ]; then say "$DIR does not exist: nothing to do"; return 0; fi
  [ -f "$HOST_STATE" ] || say "warning: no host-state for $DIR: sysctls and files outside DIR are not restored"
  local name cleanup_log sock
  # 1. kubelets first, so nothing restarts the containers. The cluster is thrown away: no
  #    graceful shutdowns (SIGTERM costs 1-3 s per daemon)
  stop_pids KILL $(pids_of kubelet kube-proxy node2-kubelet node2-kube-proxy kube-scheduler kube-controller-manager)
  # 2. the containers: kill their processes, then let containerd clean the tasks up
  kill_pod_processes
  for sock in "$DIR/containerd/containerd.sock" "$N2/containerd/containerd.sock"; do
    [ -S "$sock" ] && timeout 5 ctr --address "$sock" version >/dev/null 2>&1 || continue
    for name in $(timeout 10 ctr_at "$sock" tasks ls -q 2>/dev/null); do
      timeout 10 ctr_at "$sock" tasks delete --force "$name" >/dev/null 2>&1 || true
    done
  done
  # 3. the daemons (containerd, apiserver, etcd), then anything left that names DIR: shims included
  stop_pids KILL $(pids_of $DAEMONS)
  stop_pids KILL $(cluster_pids)
  kill_pod_processes
  # 4. the second node's veth pair (its route goes with it), then mounts (sandbox shm, rootfs,
  #    network namespaces — the second node's too —, kubelet volumes), cgroups. The second
  #    node's mount namespace went away with its last process
  ip link del "$NODE2_VETH" 2>/dev/null || true
  unmount_dir
  remove_cgroups
  # 5. network: kube-proxy's own cleanup, then what it leaves and ours; the bridge
  if [ -x "$K8S_BIN/kube-proxy" ] && iptables -w -t nat -S 2>/dev/null | grep -q -- '-N KUBE-'; then
    if [ -d "$DIR/logs" ]; then cleanup_log=$DIR/logs/kube-proxy-cleanup.log; else cleanup_log=/dev/null; fi
    "$K8S_BIN/kube-proxy" --cleanup >>"$cleanup_log" 2>&1 || true
  fi
  clean_iptables
  ip link del "$BRIDGE" 2>/dev/null || true
  # 6. files kubelet and libcni write outside DIR
  clean_outside_files
  # 7. sysctls last (kube-proxy --cleanup may touch them too)
  restore_host_state
  rm -f "$DIR"/pids/*.pid "$(state_copy)"
  rmdir "$STATE_COPY_DIR" 2>/dev/null || true
  say "down: $DIR"
}

clean_outside_files() {
  local f=$HOST_STATE d e
  [ -f "$f" ] || return 0
  # entries that appeared since `up` in directories that existed: this cluster's
  for d in /var/log/pods /var/log/containers /var/lib/cni/results /var/lib/kubelet/device-plugins; do
    grep -qx "existed $d" "$f" || continue
    [ -d "$d" ] || continue
    find "$d" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | while read -r e; do
      grep -qxF "entry $d $e" "$f" || rm -rf "${d:?}/$e"
    done
  done
  # directories that did not exist before `up` (deepest first)
  for d in /var/lib/kubelet/device-plugins /var/lib/kubelet /var/lib/cni/results /var/lib/cni \
           /var/log/containers /var/log/pods; do
    if grep -qx "absent $d" "$f" && [ -d "$d" ]; then rm -rf "$d"; fi
  done
  # libmount's /run/mount (utab), when it is new and empty
  if grep -qx "absent /run/mount" "$f" && [ -d /run/mount ] && [ ! -s /run/mount/utab ]; then
    rm -f /run/mount/utab; rmdir /run/mount 2>/dev/null || true
  fi
}

cmd_env() {
  echo "export KUBECONFIG=$DIR/kubeconfig"
  echo "export PATH=$K8S_BIN:\$PATH"
  echo "export LAB_K8S_CTR_SOCK=$DIR/containerd/containerd.sock"
  [ ! -f "$N2/containerd/config.toml" ] || echo "export LAB_K8S_CTR_SOCK_NODE2=$N2/containerd/containerd.sock"
}

# stop-node DIR NAME: kill that node's kubelet, as if the node were lost
cmd_stop_node() {
  local name=${1:-} pidname
  case $name in
    "$NODE_NAME") pidname=kubelet ;;
    "$NODE2_NAME") pidname=node2-kubelet ;;
    *) die "usage: cluster.sh stop-node DIR NAME (NAME: $NODE_NAME or $NODE2_NAME)" ;;
  esac
  alive "$pidname" || die "the kubelet of $name is not running"
  stop_pids KILL $(pids_of "$pidname")
  say "killed the kubelet of $name (its pods keep running until 'down')"
}

[ $# -ge 2 ] || usage
cmd=$1
DIR=$(abspath "$2")
N2=$DIR/node2
shift 2
case $cmd in
  up) cmd_up ;;
  load) cmd_load "$@" ;;
  stop-node) cmd_stop_node "$@" ;;
  down) cmd_down ;;
  env) cmd_env ;;
  *) usage ;;
esac
