package io.wiremesh.e2e;

import io.wiremesh.testing.Commands;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The WireGuard kernel module (Debian's kernel in a VM) against both userspace datapaths a node can
 * run: the Java one ({@code bin/wiremesh-wg}) and Debian's wireguard-go, each in a namespace on the
 * host side of the VM's tap. Handshakes are initiated from both sides (the host towards the VM's
 * {@code wiremesh0}, the VM towards wireguard-go); then pings and a checksummed TCP transfer in each
 * direction, and a capture on the tap holds nothing but ARP and WireGuard messages (type 1-4 with
 * three zero reserved bytes, whitepaper section 5.4).
 */
class KernelInteropIT {
    private static final int PAYLOAD = 2 << 20;
    private final String id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
    private Host host;
    private KernelVm.Running vm;

    @AfterEach
    void tearDown() throws Exception {
        if (vm != null) vm.close(); // a test that failed while the VM ran: stop it before its namespace goes
        if (host != null) host.close();
        Files.deleteIfExists(Path.of("/var/run/wireguard", "wmkj" + id + ".sock"));
        Files.deleteIfExists(Path.of("/var/run/wireguard", "wmkg" + id + ".sock"));
    }

    @Test
    void theKernelModuleInteroperatesWithTheJavaDatapathAndWireguardGo() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root (namespaces, qemu)");
        assumeTrue(Files.exists(Host.ROOT.resolve("wireguard/target").resolve("wiremesh-wireguard-0.1.0-SNAPSHOT-all.jar")),
                "needs the packaged datapath (mvn verify)");
        KernelVm.prepare();
        host = new Host();
        Path share = Files.createDirectories(host.dir.resolve("share"));
        String ns = host.ns("wmk-" + id);
        String tap = "wmkt" + id;
        host.in(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        Host.sh("ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap");
        Host.sh("ip", "-n", ns, "addr", "add", "198.18.77.1/24", "dev", tap);
        Host.sh("ip", "-n", ns, "link", "set", tap, "up");

        // Two host-side interfaces, one per implementation, each paired with one kernel interface in the VM.
        String java = "wmkj" + id, go = "wmkg" + id;
        String[] hostKeys = {key(), key()}, vmKeys = {key(), key()};
        host.spawn("wg-java.log", null, "ip", "netns", "exec", ns, Host.ROOT.resolve("bin/wiremesh-wg").toString(), "-f", java);
        host.spawn("wg-go.log", null, "ip", "netns", "exec", ns, "wireguard-go", "-f", go);
        String[] ifs = {java, go};
        for (int i = 0; i < 2; i++) {
            Path sock = Path.of("/var/run/wireguard", ifs[i] + ".sock");
            await().atMost(Liveness.BOUND).until(() -> Files.exists(sock));
            Path k = host.dir.resolve("host" + i + ".key");
            Files.writeString(k, hostKeys[i] + "\n");
            host.in(ns, "wg", "set", ifs[i], "private-key", k.toString(), "listen-port", String.valueOf(51820 + i),
                    "peer", pub(vmKeys[i]), "allowed-ips", "10." + (77 + i) + ".0.2/32", "endpoint", "198.18.77.2:" + (51820 + i));
            host.in(ns, "ip", "addr", "add", "10." + (77 + i) + ".0.1/24", "dev", ifs[i]);
            host.in(ns, "ip", "link", "set", ifs[i], "up");
            Files.writeString(share.resolve("vm" + i + ".key"), vmKeys[i] + "\n");
            Files.writeString(share.resolve("host" + i + ".pub"), pub(hostKeys[i]) + "\n");
        }
        // Each side has a payload for the other; the host serves its own and stores what it receives.
        byte[] up = random(), down = random();
        Files.write(share.resolve("up.bin"), up);
        Path downFile = Files.write(host.dir.resolve("down.bin"), down);
        for (int i = 0; i < 2; i++) {
            String addr = "10." + (77 + i) + ".0.1";
            host.spawn("recv" + i + ".log", null, "ip", "netns", "exec", ns, "socat", "-u",
                    "TCP-LISTEN:5001,bind=" + addr + ",reuseaddr", "CREATE:" + host.dir.resolve("got-up" + i));
            host.spawn("send" + i + ".log", null, "ip", "netns", "exec", ns, "socat", "-u",
                    "OPEN:" + downFile, "TCP-LISTEN:5002,bind=" + addr + ",reuseaddr");
        }
        Path pcap = host.dir.resolve("tap.pcap");
        host.spawn("tcpdump.log", null, "ip", "netns", "exec", ns, "tcpdump", "-i", tap, "-n", "-U", "--immediate-mode", "-w", pcap.toString());
        await().atMost(Liveness.BOUND).until(() -> host.log("tcpdump.log").contains("listening on"));

        // The guest: kernel interfaces named as the node-daemon names its own, then traffic once the host says go.
        Files.writeString(share.resolve("interop.sh"), """
                set -e
                exec 2>/share/trace
                set -x
                sysctl -qw net.ipv6.conf.all.disable_ipv6=1
                ip addr add 198.18.77.2/24 dev eth0
                ip link set eth0 up
                for i in 0 1; do
                  dev=wiremesh$i
                  ip link add $dev type wireguard
                  wg set $dev private-key /share/vm$i.key listen-port $((51820 + i)) \\
                    peer "$(cat /share/host$i.pub)" allowed-ips 10.$((77 + i)).0.1/32 endpoint 198.18.77.1:$((51820 + i))
                  ip addr add 10.$((77 + i)).0.2/24 dev $dev
                  ip link set $dev up
                done
                touch /share/ready
                n=0; while [ ! -e /share/go ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
                for i in 0 1; do
                  ping -c 3 -i 0.2 -W 5 10.$((77 + i)).0.1 > /share/ping$i.out 2>&1 || echo "ping over wiremesh$i failed" >> /share/errors
                  socat -T 30 -u OPEN:/share/up.bin TCP:10.$((77 + i)).0.1:5001,connect-timeout=20 || echo "upload over wiremesh$i failed" >> /share/errors
                  socat -T 30 -u TCP:10.$((77 + i)).0.1:5002,connect-timeout=20 CREATE:/share/down$i.bin || echo "download over wiremesh$i failed" >> /share/errors
                done
                wg show all dump > /share/wg.dump
                [ ! -e /share/errors ]
                """);
        vm = KernelVm.start(share, "interop.sh", 160, 240, "--netns", ns, "--tap", tap);
        long t0 = System.nanoTime();
        await().atMost(120, TimeUnit.SECONDS).pollInterval(100, TimeUnit.MILLISECONDS)
                .until(() -> Files.exists(share.resolve("ready")) || !vm.alive());
        assertThat(Files.exists(share.resolve("ready"))).as("guest set up its interfaces; console:\n%s", console(share)).isTrue();
        // The Java side initiates the first handshake (towards wiremesh0); the VM initiates towards wireguard-go.
        String ping = Commands.run(List.of("ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "5", "10.77.0.2"), null, null).out();
        Files.writeString(share.resolve("go"), "");
        KernelVm.Result result = vm.await();
        System.out.printf("kernel VM interop: %.1f s (exit %d)%n", (System.nanoTime() - t0) / 1e9, result.exit());
        assertThat(ping).as("Java -> kernel ping").contains("3 received");
        assertThat(result.exit()).as("guest exit; errors: %s; trace:%n%s%nconsole:%n%s", read(share.resolve("errors")), read(share.resolve("trace")), result.console()).isZero();
        for (int i = 0; i < 2; i++) {
            assertThat(read(share.resolve("ping" + i + ".out"))).as("kernel -> %s ping", ifs[i]).contains("3 received");
            assertThat(sha256(Files.readAllBytes(host.dir.resolve("got-up" + i)))).as("kernel -> %s transfer", ifs[i]).isEqualTo(sha256(up));
            assertThat(sha256(Files.readAllBytes(share.resolve("down" + i + ".bin")))).as("%s -> kernel transfer", ifs[i]).isEqualTo(sha256(down));
        }
        // Both ends of each pair report a handshake and the traffic: the kernel's side and the userspace side.
        String dump = read(share.resolve("wg.dump"));
        for (int i = 0; i < 2; i++) {
            String hostPub = pub(hostKeys[i]);
            String[] k = dump.lines().map(l -> l.split("\t")).filter(f -> f.length == 9 && f[1].equals(hostPub)).findFirst().orElse(new String[0]);
            assertThat(k.length).as("wiremesh%d's peer in the guest's dump:%n%s", i, dump).isEqualTo(9);
            assertThat(Long.parseLong(k[5])).as("wiremesh%d latest handshake", i).isPositive();
            String hostDump = host.in(ns, "wg", "show", ifs[i], "dump");
            String[] f = hostDump.lines().skip(1).findFirst().orElse("").split("\t");
            assertThat(f.length).as("%s dump: %s", ifs[i], hostDump).isEqualTo(8);
            assertThat(Long.parseLong(f[4])).as("%s latest handshake", ifs[i]).isPositive();
            assertThat(Long.parseLong(f[5])).as("%s bytes received", ifs[i]).isGreaterThan(PAYLOAD);
            assertThat(Long.parseLong(f[6])).as("%s bytes sent", ifs[i]).isGreaterThan(PAYLOAD);
        }
        // The wire: nothing but ARP and WireGuard messages.
        Thread.sleep(500);
        String wire = Commands.run(List.of("tcpdump", "-r", pcap.toString(), "-n", "udp"), null, null).out();
        long wg = wire.lines().filter(l -> l.contains("UDP")).count();
        String clear = Commands.run(List.of("tcpdump", "-r", pcap.toString(), "-n",
                "not arp and not (udp and (udp port 51820 or udp port 51821) and udp[8] >= 1 and udp[8] <= 4 and udp[9] = 0 and udp[10:2] = 0)"),
                null, null).out();
        assertThat(wg).as("WireGuard datagrams on the tap").isGreaterThan(2L * PAYLOAD / 1500);
        assertThat(clear.lines().filter(l -> !l.startsWith("reading from"))).as("non-WireGuard packets on the tap").isEmpty();
    }

    private static String console(Path share) throws Exception {
        return read(share.resolve("console.log"));
    }

    private static String read(Path p) throws Exception {
        return Files.exists(p) ? Files.readString(p) : "";
    }

    private static String key() throws Exception {
        return Host.sh("wg", "genkey").trim();
    }

    private static String pub(String key) throws Exception {
        return Commands.run(List.of("wg", "pubkey"), null, key + "\n").out().trim();
    }

    private static byte[] random() {
        byte[] b = new byte[PAYLOAD];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
