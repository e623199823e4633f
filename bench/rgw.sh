#!/usr/bin/env bash
# A throw-away single-node Ceph (one mon, one OSD) with radosgw in front, on 127.0.0.1, for
# benchmarking mlship's S3 store against a multi-threaded S3 server (bench/s3.mjs --endpoint).
# s3rver, the default server of bench/s3.mjs, is single-threaded Node and spends 2.3-4.1 ms of CPU
# per PUT, which caps what any client can show on a 2-CPU machine.
#
#   sudo apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common awscli
#   eval "$(bench/rgw.sh)"          # start from scratch (stops a previous instance first), print exports
#   node bench/s3.mjs --endpoint "$MLSHIP_BENCH_ENDPOINT" --server-pid "$MLSHIP_BENCH_SERVER_PIDS"
#   bench/rgw.sh stop               # stop the daemons and delete everything under $RGW_DIR
#   bench/rgw.sh env                # print the exports of the running instance again
#
# Runs as root (the daemons are started as root: no ceph user, no systemd). Everything lives under
# RGW_DIR (default /tmp/rgw): config, mon store, OSD data, logs, sockets, pid files. Nothing in /etc
# or /var is touched. Knobs (environment): RGW_DIR, RGW_PORT (7480), RGW_MON_PORT (6789),
# RGW_OBJECTSTORE (bluestore | memstore; default bluestore), RGW_STORE_GIB (16: the size of
# bluestore's sparse block file, or memstore's capacity).
#
# Not a production layout: no authentication between daemons (auth none), one replica, no manager.
# Cost (2-CPU VM): ~18 s to start (memstore ~14 s); ~120 MB resident just after start, ~480 MB
# after a full bench/s3.mjs run, and a 2.6 GB sparse block file. With memstore the OSD holds every
# byte in RAM: ~4.7 GB after a run, as radosgw frees deleted multipart data only in its garbage
# collection, two hours later. Either way, start a fresh instance before each run (this script
# always starts from scratch).
# Progress goes to stderr; stdout carries only the export lines, so `eval "$(bench/rgw.sh)"` works.
set -euo pipefail

DIR=${RGW_DIR:-/tmp/rgw}
PORT=${RGW_PORT:-7480}
MON_PORT=${RGW_MON_PORT:-6789}
OBJECTSTORE=${RGW_OBJECTSTORE:-bluestore}
STORE_GIB=${RGW_STORE_GIB:-16}
CONF=$DIR/ceph.conf
# Fixed keys: the cluster is private to this machine and recreated on every start, and fixed keys let
# a second shell reuse an instance without parsing radosgw-admin's output.
ACCESS_KEY=mlshipbench
SECRET_KEY=mlshipbenchsecret
USER_ID=mlship-bench

log() { echo "[rgw] $*" >&2; }

pids() { # the pids of the running daemons, comma-separated (for bench/s3.mjs --server-pid)
  local list=()
  for f in "$DIR"/run/*.pid; do
    [[ -f $f ]] || continue
    local pid; pid=$(cat "$f")
    [[ -d /proc/$pid ]] && list+=("$pid")
  done
  (IFS=,; echo "${list[*]:-}")
}

print_env() {
  cat <<EOF
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1
export MLSHIP_BENCH_ENDPOINT=http://127.0.0.1:$PORT
export MLSHIP_BENCH_SERVER_PIDS=$(pids)
EOF
}

stop() {
  # Each daemon by the pid it wrote (never by name: other Ceph processes on the machine are not
  # ours), in reverse order of start, with SIGKILL: everything is deleted next, and a graceful stop
  # would make memstore write its whole in-RAM store (gigabytes after a benchmark) into the OSD's
  # directory first, possibly into the next instance's files. Then wait until each is gone, so the
  # ports and files are free.
  for name in client.rgw osd.0 mon.a; do
    local f=$DIR/run/$name.pid
    [[ -f $f ]] || continue
    local pid; pid=$(cat "$f")
    # Only a process that is still this daemon (the pid may have been reused since).
    if [[ -d /proc/$pid ]] && grep -qa -- "$CONF" "/proc/$pid/cmdline" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
      for _ in $(seq 100); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
      [[ -d /proc/$pid ]] && { log "$name ($pid) did not exit"; exit 1; }
    fi
  done
  rm -rf "$DIR"
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "timed out after ${seconds}s waiting for $what; logs in $DIR/log"
  exit 1
}

start() {
  [[ $(id -u) == 0 ]] || { log "run as root (the daemons run as root here)"; exit 1; }
  for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
    command -v "$bin" >/dev/null || { log "$bin missing: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common"; exit 1; }
  done
  stop # idempotent: always from scratch, whatever a previous run left
  mkdir -p "$DIR"/{mon/ceph-a,osd/ceph-0,rgw,log,run}
  local t0=$SECONDS
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  local osd_uuid; osd_uuid=$(cat /proc/sys/kernel/random/uuid)

  local store_conf
  if [[ $OBJECTSTORE == memstore ]]; then
    # memstore keeps objects in the OSD's RAM: no disk in the measurement (s3rver writes to the page
    # cache and never fsyncs), but gigabytes of RAM, and its large writes cost the OSD ~25% more CPU
    # than bluestore's here. Its capacity is a fixed number of bytes (default 1 GiB, too small for a
    # 1 GiB file pushed twice).
    # "page set = false" keeps each object as the list of buffers it arrived in, instead of copying
    # them into 64 KiB pages.
    store_conf="memstore device bytes = $((STORE_GIB * 1024 * 1024 * 1024))
memstore page set = false"
  else
    # bluestore (the default) on a sparse file: the store real clusters use (checksums, RocksDB,
    # direct I/O), with a disk in the figure. The file is created by mkfs, outside the OSD directory
    # (where bluestore puts a symlink named "block" to it).
    store_conf="bluestore block path = $DIR/osd/block.0
bluestore block create = true
bluestore block size = $((STORE_GIB * 1024 * 1024 * 1024))
bluestore fsck on mount = false"
  fi

  cat >"$CONF" <<EOF
[global]
fsid = $fsid
# One mon on loopback, legacy protocol only (msgr2 would need a second port and buys nothing here).
mon host = 127.0.0.1:$MON_PORT
ms bind msgr2 = false
public network = 127.0.0.0/8
# No CRC32C of message payloads between radosgw and the OSD: over loopback TCP nothing can corrupt
# them, and it was 22% of the OSD's CPU during a large upload (perf). Real clusters keep it on.
ms crc data = false
# No cephx between daemons and clients: a private loopback cluster, and no keyrings to manage.
auth cluster required = none
auth service required = none
auth client required = none
# One OSD: pools of one replica, allowed and not warned about; CRUSH places on OSDs, not hosts.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
# radosgw creates about seven pools on first start; few placement groups each keep one OSD light.
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
# Everything under $DIR: nothing in /var/lib/ceph, /var/run/ceph or /var/log/ceph.
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
mon data = $DIR/mon/ceph-\$id
osd data = $DIR/osd/ceph-\$id
# This is a benchmark, not a cluster: no crash dumps, and no logging at all, not even into the
# in-memory ring that Ceph keeps for crash reports (the "/5" of the default levels: formatting those
# lines costs CPU on every request).
crash dir = $DIR/crash
debug ms = 0/0
debug rgw = 0/0
debug osd = 0/0
debug objecter = 0/0
debug rados = 0/0
debug monc = 0/0
debug bluestore = 0/0
debug bluefs = 0/0
debug bdev = 0/0
debug rocksdb = 0/0
debug memstore = 0/0
debug filestore = 0/0
debug journal = 0/0
debug auth = 0/0
debug mon = 0/0
debug paxos = 0/0
debug optracker = 0/0
debug finisher = 0/0
debug throttle = 0/0
debug perfcounter = 0/0
debug asok = 0/0
debug context = 0/0
debug buffer = 0/0
debug timer = 0/0
debug objclass = 0/0
debug civetweb = 0/0
debug javaclient = 0/0

[mon]
# The mon refuses to run when its disk is nearly full (5% by default); /tmp shares the root disk.
mon data avail crit = 1
mon data avail warn = 2

[osd]
osd objectstore = $OBJECTSTORE
$store_conf

[client.rgw]
# Beast (the asio frontend, the default since Nautilus) on loopback only.
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $DIR/rgw
# Usage logging and the ops log cost work per request that a benchmark does not need.
rgw enable usage log = false
rgw enable ops log = false
EOF

  log "mon: mkfs and start"
  monmaptool --create --clobber --fsid "$fsid" --add a "127.0.0.1:$MON_PORT" "$DIR/monmap" >/dev/null 2>&1
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" 2>>"$DIR/log/mkfs.log"
  ceph-mon -c "$CONF" -i a
  wait_for 30 "the mon" ceph -c "$CONF" --connect-timeout 5 mon stat

  log "osd ($OBJECTSTORE): register, mkfs and start"
  local id; id=$(ceph -c "$CONF" osd new "$osd_uuid")
  [[ $id == 0 ]] || { log "expected osd id 0, got $id"; exit 1; }
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>>"$DIR/log/mkfs.log"
  ceph-osd -c "$CONF" -i 0
  wait_for 60 "the osd to be up" bash -c "ceph -c '$CONF' osd dump | grep -q '^osd.0 up'"

  log "radosgw: start on 127.0.0.1:$PORT"
  radosgw -c "$CONF" -n client.rgw
  wait_for 120 "radosgw to answer" curl -sf "http://127.0.0.1:$PORT/"

  log "S3 user $USER_ID"
  radosgw-admin -c "$CONF" -n client.rgw user create --uid="$USER_ID" --display-name="mlship bench" \
    --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >/dev/null 2>>"$DIR/log/radosgw-admin.log"
  log "up in $((SECONDS - t0)) s; pids $(pids); data and logs in $DIR"
  print_env
}

case ${1:-start} in
  start) start ;;
  stop) stop; log "stopped, $DIR removed" ;;
  env) print_env ;;
  *) log "usage: $0 [start|stop|env]"; exit 2 ;;
esac
