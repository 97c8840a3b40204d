package io.wiremesh.wireguard.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.testing.Liveness;
import io.wiremesh.wireguard.interop.Lab.Impl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A running Java datapath is replaced by a new process again and again (the handover), with
 * wireguard-go as the peer, a 100/s ping and a long TCP stream crossing the tunnel meanwhile: no ping
 * lost, the stream's bytes arrive intact over one connection, and the sessions go on without new
 * handshakes (initiations on the underlay stay within what rekeying by age allows).
 */
class HandoverIT extends LabTest {
    private static final int REPLACEMENTS = 20;
    private static final Pattern PING = Pattern.compile("(\\d+) packets transmitted, (\\d+) received");

    @Test
    void aDatapathReplacedTwentyTimesUnderTrafficLosesNothingAndKeepsItsSessions() throws Exception {
        Tunnel t = new Tunnel(lab, Impl.JAVA, Impl.GO, null);
        assertThat(t.ping(t.nsB, "10.202.0.1", 3)).contains("3 received");
        long started = System.nanoTime();
        try (Capture cap = new Capture(lab, t.nsA, t.linkA)) {
            // A TCP stream from B to A's tunnel address for as long as the flag file exists, kept by the sender as well.
            Path flag = lab.dir.resolve("streaming");
            Files.createFile(flag);
            Path sent = lab.dir.resolve("stream-sent"), got = lab.dir.resolve("stream-got");
            Process server = lab.spawnIn(t.nsA, "stream-server.log", "socat", "-u", "TCP-LISTEN:5050,reuseaddr", "OPEN:" + got + ",creat,trunc");
            t.waitListening(t.nsA, 5050);
            Process client = lab.spawnIn(t.nsB, "stream-client.log", "sh", "-c",
                    "while [ -e " + flag + " ]; do head -c 16384 /dev/urandom; sleep 0.01; done | tee " + sent
                            + " | socat -u - TCP:10.202.0.1:5050,connect-timeout=10");
            long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
            while (!(Files.exists(got) && Files.size(got) > 0) && System.nanoTime() < deadline) Thread.sleep(50);
            long before = Files.exists(got) ? Files.size(got) : 0;
            assertThat(before).as("the stream flows before the first replacement").isPositive();
            // Pings at 100/s in runs of 500 that each end by themselves (a killed ping would count its last probe lost).
            AtomicBoolean pinging = new AtomicBoolean(true);
            AtomicLong transmitted = new AtomicLong(), received = new AtomicLong();
            StringBuilder pingLog = new StringBuilder();
            Thread pinger = Thread.ofPlatform().start(() -> {
                while (pinging.get()) {
                    try {
                        String out = lab.in(t.nsB, "sh", "-c", "ping -i 0.01 -c 500 -W 5 10.202.0.1 || true");
                        Matcher m = PING.matcher(out);
                        if (m.find()) {
                            transmitted.addAndGet(Long.parseLong(m.group(1)));
                            received.addAndGet(Long.parseLong(m.group(2)));
                        } else pingLog.append(out);
                    } catch (Exception e) {
                        pingLog.append(e).append('\n');
                        return;
                    }
                }
            });

            Thread.sleep(1000); // the first ping run under way before the first replacement
            Process current = t.procA;
            for (int i = 1; i <= REPLACEMENTS; i++) {
                Process successor = lab.spawnIn(t.nsA, t.ifA + "-" + i + ".log", Lab.WIREMESH_WG.toString(), "-f", t.ifA);
                assertThat(current.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS))
                        .as("replacement %d: the predecessor exits once its successor took over: %s", i, lab.log(t.ifA + "-" + i)).isTrue();
                assertThat(current.exitValue()).as("replacement %d: predecessor's exit status", i).isZero();
                String log = waitForLog(t.ifA + "-" + i, "taken over with its sessions", successor);
                assertThat(log).as("replacement %d: the successor took the sessions; its predecessor said: %s", i, lab.log(i == 1 ? t.ifA : t.ifA + "-" + (i - 1))).contains("taken over with its sessions");
                current = successor;
            }
            Files.delete(flag);
            assertThat(client.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).as("the stream's sender finished").isTrue();
            assertThat(client.exitValue()).as("the stream's sender: %s", Files.readString(lab.dir.resolve("stream-client.log"))).isZero();
            assertThat(server.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).as("the stream's receiver finished").isTrue();
            pinging.set(false);
            pinger.join(TimeUnit.SECONDS.toMillis(60));

            assertThat(Files.size(sent)).as("bytes streamed during the replacements").isGreaterThan(before);
            assertThat(Tunnel.sha256(got)).as("the stream arrived intact over one connection").isEqualTo(Tunnel.sha256(sent));
            // Runs of 500 back to back from before the first replacement until one ended after the last: at least one.
            assertThat(transmitted.get()).as("pings sent: %s", pingLog).isGreaterThanOrEqualTo(500);
            assertThat(received.get()).as("pings answered of %d", transmitted.get()).isEqualTo(transmitted.get());
            long initiations = cap.stop().stream().filter(l -> l.endsWith("UDP, length 148")).count();
            // Rekeying by age (REKEY_AFTER_TIME, 120 s) may start one handshake per two minutes; a lost session would start one per replacement.
            long minutes = TimeUnit.NANOSECONDS.toMinutes(System.nanoTime() - started);
            System.out.printf("handover: %d replacements in %.1f s, %d/%d pings answered, %d bytes streamed over one connection, %d handshake initiations%n",
                    REPLACEMENTS, (System.nanoTime() - started) / 1e9, received.get(), transmitted.get(), Files.size(sent), initiations);
            assertThat(initiations).as("handshake initiations on the underlay over %d replacements", REPLACEMENTS).isLessThanOrEqualTo(minutes / 2 + 1);
        }
        // The last successor serves the UAPI with the configuration and counters carried over.
        String dump = t.dump(t.nsA, t.ifA);
        assertThat(dump).contains("10.202.0.2/32").contains("10.201.0.2:" + Tunnel.PORT_B);
        String[] peer = dump.lines().skip(1).findFirst().orElseThrow().split("\t");
        assertThat(Long.parseLong(peer[5])).as("rx bytes carried over").isGreaterThan(1 << 20);
    }

    /**
     * The order Kubernetes gives a pod's replacement: the old datapath gets SIGTERM first, serves on
     * (WIREMESH_WG_HANDOVER_WAIT) until a successor has taken over, then exits 0; not a ping lost on the way.
     * Asked to stop with no successor, it stops once the wait is over and the interface goes.
     */
    @Test
    void aDatapathAskedToStopServesUntilItsSuccessorTookOver() throws Exception {
        Tunnel t = new Tunnel(lab, Impl.JAVA, Impl.GO, null);
        assertThat(t.ping(t.nsB, "10.202.0.1", 3)).contains("3 received");
        Process waiting = lab.spawnIn(t.nsA, t.ifA + "-w.log", "env", "WIREMESH_WG_HANDOVER_WAIT=30", Lab.WIREMESH_WG.toString(), "-f", t.ifA);
        assertThat(t.procA.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).as("the first datapath handed over").isTrue();
        assertThat(waitForLog(t.ifA + "-w", "taken over with its sessions", waiting)).contains("taken over with its sessions");

        Process ping = lab.spawnIn(t.nsB, "ping-term.log", "ping", "-i", "0.05", "-c", "100", "-W", "5", "10.202.0.1");
        Thread.sleep(1000);
        waiting.toHandle().destroy(); // SIGTERM, as the kubelet sends it to the old pod
        Thread.sleep(2000);
        assertThat(waiting.isAlive()).as("it serves on after SIGTERM, waiting for a successor").isTrue();
        Process successor = lab.spawnIn(t.nsA, t.ifA + "-s.log", Lab.WIREMESH_WG.toString(), "-f", t.ifA);
        assertThat(waiting.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).as("it exits once taken over").isTrue();
        assertThat(waiting.exitValue()).as("a JVM stopped by SIGTERM exits 143 (the chart's wrapper exits 0)").isEqualTo(143);
        assertThat(lab.log(t.ifA + "-w")).contains("handed " + t.ifA + " over to its successor");
        assertThat(waitForLog(t.ifA + "-s", "taken over with its sessions", successor)).contains("taken over with its sessions");
        assertThat(ping.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(lab.dir.resolve("ping-term.log"))).as("pings across SIGTERM and handover").contains("100 packets transmitted, 100 received");

        // No successor: once the wait is over it stops, and the interface goes with it (the node fails closed).
        Process last = lab.spawnIn(t.nsA, t.ifA + "-l.log", "env", "WIREMESH_WG_HANDOVER_WAIT=2", Lab.WIREMESH_WG.toString(), "-f", t.ifA);
        assertThat(successor.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(waitForLog(t.ifA + "-l", "taken over with its sessions", last)).contains("taken over with its sessions");
        last.toHandle().destroy();
        assertThat(last.waitFor(Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).as("it stops after its wait").isTrue();
        assertThat(lab.in(t.nsA, "sh", "-c", "ip link show " + t.ifA + " 2>&1 || true")).contains("does not exist");
    }

    private String waitForLog(String name, String text, Process p) throws Exception {
        long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
        String log = lab.log(name);
        while (!log.contains(text) && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(50);
            log = lab.log(name);
        }
        return log;
    }
}
