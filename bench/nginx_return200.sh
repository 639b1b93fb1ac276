# nginx answering every request with `return 200` and a body of a given size: this machine's HTTP
# limit, the peer of bench/nginx_bench.sh and bench/peers/run.sh. Source it, then
#   start_nginx_return200 DIR PORT BYTES   one worker on core 0, on 127.0.0.1:PORT, its files in
#                                          DIR; waits until it answers; sets NGINX_PID
start_nginx_return200() {
  local dir=$1 port=$2 bytes=$3
  local nginx
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  printf '%*s' "$bytes" '' | tr ' ' 'x' > "$dir/body.txt"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
worker_cpu_affinity 01;
daemon off;
error_log $dir/nginx.err warn;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    location / { default_type application/json; return 200 '$(cat "$dir/body.txt")'; }
  }
}
CONF
  taskset -c 0 "$nginx" -c "$dir/nginx.conf" -p "$dir" &
  NGINX_PID=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0; sleep 0.05; done
  echo "nginx did not answer on port $port: $(cat "$dir/nginx.err" 2>/dev/null)" >&2
  return 1
}
