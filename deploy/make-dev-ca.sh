#!/usr/bin/env bash
# Makes a DEVELOPMENT certificate authority and certificates for pwire's mutual TLS:
#   deploy/make-dev-ca.sh [DIR] [SERVER_NAME ...] [--client NAME ...]
# DIR (default ./pwire-pki) gets ca.pem/ca.key, server.pem/server.key (SANs: localhost,
# 127.0.0.1, ::1 and each SERVER_NAME) and NAME.pem/NAME.key per client (CN = NAME; an
# agent's certificate CN must be its agent id). Default clients: admin, agent-1, agent-2.
# Keys are EC P-256, unencrypted: never use these for production.
set -euo pipefail
dir=${1:-./pwire-pki}
[ $# -gt 0 ] && shift
servers=() clients=()
while [ $# -gt 0 ]; do
  case "$1" in
    --client) clients+=("$2"); shift 2 ;;
    *) servers+=("$1"); shift ;;
  esac
done
[ ${#clients[@]} -gt 0 ] || clients=(admin agent-1 agent-2)
command -v openssl >/dev/null || { echo "make-dev-ca: openssl is needed (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
umask 077

if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=pwire development CA" -keyout ca.key -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi

# issue NAME EXTFILE: a key and a certificate signed by the CA.
issue() {
  local name=$1 ext=$2
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -keyout "$name.key" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
    -extfile "$ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$ext"
}

san="DNS:localhost,IP:127.0.0.1,IP:::1"
for s in "${servers[@]}"; do
  if [[ $s =~ ^[0-9.]+$ || $s == *:* ]]; then san+=",IP:$s"; else san+=",DNS:$s"; fi
done
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" > server.ext
issue server server.ext

for c in "${clients[@]}"; do
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:%s\n' "$c" > "$c.ext"
  issue "$c" "$c.ext"
done
chmod 644 ./*.pem
echo "make-dev-ca: wrote CA, server and client (${clients[*]}) certificates to $(pwd)"
echo "  pwire-server --listen 0.0.0.0:7443 --tls-cert $(pwd)/server.pem --tls-key $(pwd)/server.key --tls-ca $(pwd)/ca.pem"
