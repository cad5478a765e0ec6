#!/usr/bin/env bash
# A single-node Apache Kafka broker in KRaft mode, assembled from Maven Central with mvn.
# No tarball, no Docker. The version is pinned in scripts/kafka/pom.xml (and matches
# docker-compose.yml).
#
#   scripts/apache-kafka.sh fetch                      assemble the jars (cached)
#   scripts/apache-kafka.sh run DATA_DIR PORT [CPORT]  format storage and run in the foreground
#   scripts/apache-kafka.sh start DATA_DIR PORT        run in the background (pid in DATA_DIR)
#   scripts/apache-kafka.sh stop DATA_DIR              stop a background broker
#   scripts/apache-kafka.sh run-secure DATA_DIR PORT IPORT CPORT USER PASSWORD
#       a SASL_SSL listener on PORT (SCRAM-SHA-512, user USER created at format time,
#       a self-signed certificate for 127.0.0.1 written to DATA_DIR/ca.pem), the
#       broker's own traffic on a loopback PLAINTEXT listener IPORT
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pom="$here/kafka/pom.xml"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
# Downloads live where the machine keeps them: ~/.m2 for Maven, ~/.cache for the classpath.
cache="${DIPWATCH_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dipwatch/kafka-$version}"

fetch() {
  if [ -f "$cache/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { echo "apache-kafka: mvn not found (install Maven)" >&2; exit 3; }
  command -v java >/dev/null || { echo "apache-kafka: java not found (Java 17+ needed)" >&2; exit 3; }
  rm -rf "$cache" && mkdir -p "$cache/libs"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$cache/libs" >&2
  cat > "$cache/log4j.properties" <<'PROPS'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=WARN
log4j.logger.org.apache.kafka=WARN
PROPS
  touch "$cache/.complete"
}

write_config() {  # DATA_DIR PORT CPORT
  local dir="$1" port="$2" cport="$3"
  mkdir -p "$dir/logs"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/logs
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Tests and demos: a new group starts at once, a dead member leaves after its session.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=6000
auto.create.topics.enable=true
log.segment.bytes=16777216
PROPS
}

write_secure_config() {  # DATA_DIR PORT IPORT CPORT
  local dir="$1" port="$2" iport="$3" cport="$4"
  write_config "$dir" "$iport" "$cport"
  sed -i -e "s|^listeners=.*|listeners=INTERNAL://127.0.0.1:$iport,SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport|" \
         -e "s|^advertised.listeners=.*|advertised.listeners=INTERNAL://127.0.0.1:$iport,SASL_SSL://127.0.0.1:$port|" \
         -e "s|^inter.broker.listener.name=.*|inter.broker.listener.name=INTERNAL|" \
         -e "s|^listener.security.protocol.map=.*|listener.security.protocol.map=CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,SASL_SSL:SASL_SSL|" \
         "$dir/server.properties"
  cat >> "$dir/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/server.p12
ssl.keystore.password=dipwatch-test
ssl.key.password=dipwatch-test
PROPS
}

make_certificate() {  # DATA_DIR: a self-signed certificate for 127.0.0.1 and its PEM
  local dir="$1"
  [ -f "$dir/server.p12" ] && [ -f "$dir/ca.pem" ] && return 0
  rm -f "$dir/server.p12"
  keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 30 \
    -dname "CN=127.0.0.1" -ext "SAN=ip:127.0.0.1,dns:localhost" \
    -keystore "$dir/server.p12" -storetype PKCS12 -storepass dipwatch-test -keypass dipwatch-test \
    >/dev/null 2>&1
  # Written aside, then renamed: whoever waits for ca.pem never reads half a file.
  keytool -exportcert -rfc -alias broker -keystore "$dir/server.p12" \
    -storetype PKCS12 -storepass dipwatch-test -file "$dir/ca.pem.part" >/dev/null 2>&1
  mv "$dir/ca.pem.part" "$dir/ca.pem"
}

run_secure() {  # DATA_DIR PORT IPORT CPORT USER PASSWORD
  local dir port iport cport user password
  dir="$(mkdir -p "$1" && cd "$1" && pwd)"; port="$2"; iport="$3"; cport="$4"
  user="$5"; password="$6"
  fetch
  make_certificate "$dir"
  write_secure_config "$dir" "$port" "$iport" "$cport"
  if [ ! -f "$dir/logs/meta.properties" ]; then
    java -cp "$cache/libs/*" -Dlog4j.configuration="file:$cache/log4j.properties" \
      kafka.tools.StorageTool format -t "dipwatch-test-cluster-01" \
      -c "$dir/server.properties" --ignore-formatted \
      --add-scram "SCRAM-SHA-512=[name=$user,password=$password]" >/dev/null
  fi
  java_run kafka.Kafka "$dir/server.properties"
}

java_run() {  # MAIN ARGS...
  exec java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$cache/log4j.properties" \
    -cp "$cache/libs/*" "$@"
}

run() {  # DATA_DIR PORT [CPORT]
  local dir port cport
  dir="$(mkdir -p "$1" && cd "$1" && pwd)"; port="$2"; cport="${3:-$((port + 1))}"
  fetch
  write_config "$dir" "$port" "$cport"
  if [ ! -f "$dir/logs/meta.properties" ]; then
    java -cp "$cache/libs/*" -Dlog4j.configuration="file:$cache/log4j.properties" \
      kafka.tools.StorageTool format -t "dipwatch-test-cluster-01" \
      -c "$dir/server.properties" --ignore-formatted >/dev/null
  fi
  java_run kafka.Kafka "$dir/server.properties"
}

case "${1:-}" in
  fetch) fetch; echo "$cache" ;;
  run) shift; run "$@" ;;
  run-secure) shift; run_secure "$@" ;;
  start)
    shift; dir="$1"; mkdir -p "$dir"
    nohup "$0" run "$@" >"$dir/broker.log" 2>&1 &
    echo $! >"$dir/broker.pid"; echo "apache kafka $version starting on 127.0.0.1:$2 (pid $(cat "$dir/broker.pid"))" ;;
  stop)
    pid="$(cat "$2/broker.pid")"; kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
