#!/usr/bin/env bash
# Packs what ops/bench/gpu-try.sh needs on a machine without Maven or Java: the bench classes (TrainerThroughput), the
# runtime jars without the 110 MB CPU libtorch, and a jlink'ed JRE 17 (about 53 MB gzipped).
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -q -pl bench -am package -DskipTests dependency:build-classpath -Dmdep.outputFile=target/bench.classpath \
    -DincludeScope=runtime >/dev/null
out=bench/target/gpu-bundle
rm -rf "$out" "$out.tar.gz" && mkdir -p "$out/lib"
cp -r bench/target/classes "$out/classes"
tr ':' '\n' < bench/target/bench.classpath | grep -v -E "pytorch-native-cpu|zstd-jni|snappy|lz4" | xargs -I{} cp {} "$out/lib/"
cp ~/.m2/repository/org/slf4j/slf4j-simple/2.0.17/slf4j-simple-2.0.17.jar "$out/lib/"
jlink --add-modules java.base,java.logging,java.management,jdk.management,jdk.unsupported,java.naming,java.xml,java.sql,java.desktop,jdk.crypto.ec \
    --strip-debug --no-header-files --no-man-pages --compress=2 --output "$out/jre"
strip --strip-unneeded "$out/jre/lib/server/libjvm.so" || true
tar czf "$out.tar.gz" -C bench/target gpu-bundle
ls -la "$out.tar.gz"
