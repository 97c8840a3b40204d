package io.wiremesh.wireguard.interop;

import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** tcpdump on an underlay link, started before traffic and read back after. */
final class Capture implements AutoCloseable {
    private static final java.util.concurrent.atomic.AtomicInteger SEQUENCE = new java.util.concurrent.atomic.AtomicInteger();
    private final Lab lab;
    private final Process proc;
    final Path pcap;

    Capture(Lab lab, String ns, String link) throws Exception {
        this.lab = lab;
        // One file pair per capture: a second capture on the same link must not see the first one's "listening on".
        String name = link + "-" + SEQUENCE.incrementAndGet();
        this.pcap = lab.dir.resolve("underlay-" + name + ".pcap");
        proc = lab.spawnIn(ns, "tcpdump-" + name + ".log", "tcpdump", "-i", link, "-n", "-U", "--immediate-mode", "-s", "0", "-w", pcap.toString(), "ip or ip6");
        Path log = lab.dir.resolve("tcpdump-" + name + ".log");
        long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
        while (!(Files.exists(log) && Files.readString(log).contains("listening on")) && proc.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
    }

    /** Stops the capture and returns tcpdump's one-line summaries. */
    List<String> stop() throws Exception {
        Thread.sleep(300);
        proc.destroy();
        proc.waitFor(10, TimeUnit.SECONDS);
        return Lab.run(List.of("tcpdump", "-r", pcap.toString(), "-nn", "-q"), null).lines()
                .filter(l -> !l.startsWith("reading from")).toList();
    }

    byte[] bytes() throws Exception {
        return Files.readAllBytes(pcap);
    }

    @Override
    public void close() {
        proc.destroy();
    }
}
