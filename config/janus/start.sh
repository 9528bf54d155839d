#!/bin/sh
# Janus for showctl (docker-compose.yml, profile `sfu`; docs/scaling.md#janus): the config
# is written at start from the environment and the admin key's secret file (never a command
# line), with only the VideoRoom plugin and the HTTP transport loaded and the API on
# 127.0.0.1 (it shares the controller's network: nobody else reaches it); then Janus runs.
set -eu
CONF="${JANUS_CONF:-/tmp/janus-conf}"
LIB="${JANUS_LIB:-/usr/lib/x86_64-linux-gnu/janus}"
KEY_FILE="${JANUS_ADMIN_KEY_FILE:-/run/secrets/janus_admin_key}"
API_PORT="${JANUS_API_PORT:-8088}"
RTP_PORTS="${JANUS_RTP_PORTS:-20000-20199}"   # the guests' media: publish them (UDP)
INTERFACE="${JANUS_INTERFACE:-}"              # the address Janus offers guests, if one
PUBLIC_IP="${JANUS_PUBLIC_IP:-}"              # behind NAT: the public address to offer

key=$(cat "$KEY_FILE")
case "$key" in
  "" | *[!A-Za-z0-9._~-]*)
    echo "janus: $KEY_FILE must hold the admin key (letters, digits, . _ ~ -)" >&2; exit 2;;
esac

# every library in $1 but $2, comma separated (Janus's `disable` lists)
others() { for f in "$1"/*.so; do [ -e "$f" ] && [ "${f##*/}" != "$2" ] && printf '%s,' "${f##*/}"; done; }

umask 077
mkdir -p "$CONF"
cat > "$CONF/janus.jcfg" <<CONF
general: {
  configs_folder = "$CONF"
  plugins_folder = "$LIB/plugins"
  transports_folder = "$LIB/transports"
  events_folder = "$LIB/events"
  loggers_folder = "$LIB/loggers"
  debug_level = 4
  session_timeout = 60
  ${INTERFACE:+interface = \"$INTERFACE\"}
}
media: { rtp_port_range = "$RTP_PORTS" }
nat: { ${PUBLIC_IP:+nat_1_1_mapping = \"$PUBLIC_IP\"} }
plugins: { disable = "$(others "$LIB/plugins" libjanus_videoroom.so)" }
transports: { disable = "$(others "$LIB/transports" libjanus_http.so)" }
events: { broadcast = false disable = "$(others "$LIB/events" none)" }
loggers: { disable = "$(others "$LIB/loggers" none)" }
CONF
cat > "$CONF/janus.transport.http.jcfg" <<CONF
general: { json = "plain" base_path = "/janus" http = true port = $API_PORT ip = "127.0.0.1" https = false }
admin: { admin_http = false }
CONF
cat > "$CONF/janus.plugin.videoroom.jcfg" <<CONF
general: { admin_key = "$key" lock_rtp_forward = true }
CONF
exec janus -F "$CONF" -o
