# Process helpers shared by stack.sh and sasl-broker.sh (sourced; the caller defines log()).

# pid_alive PIDFILE: the pid file exists and its process runs.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

now_ms() { date +%s%3N; }

# rss_mb PID: resident memory in MB, or '?'.
rss_mb() { awk '/VmRSS/ {printf "%d", $2/1024}' "/proc/$1/status" 2>/dev/null || echo '?'; }

# stop_pid NAME PIDFILE: SIGTERM, wait up to 15 s, then SIGKILL; removes the pid file.
stop_pid() {
  local name=$1 pidf=$2
  if ! pid_alive "$pidf"; then rm -f "$pidf"; return 0; fi
  local pid; pid=$(cat "$pidf")
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "$name did not stop in 15 s; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$pidf"
  log "$name stopped"
}
