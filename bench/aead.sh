#!/usr/bin/env bash
# AEAD micro-benchmarks (JMH): the JDK's ChaCha20-Poly1305 vs BouncyCastle's (AeadBenchmark) and vs
# OpenSSL's (the datapath's) and libsodium's (NativeAeadBenchmark), 1420-byte packets, with allocation
# per operation (-prof gc). Usage: bench/aead.sh   (after mvn package)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/benchmarks.jar"
[ -f "$jar" ] || { echo "build first: JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -B package -DskipTests" >&2; exit 1; }
exec /usr/lib/jvm/temurin-25-jdk-amd64/bin/java --sun-misc-unsafe-memory-access=allow -jar "$jar" AeadBenchmark -prof gc "$@"
