package io.wiremesh.e2e;

import io.wiremesh.testing.Commands;

import io.wiremesh.testing.KubeApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A mixed mesh against a real API server: one node is a VM running Debian's kernel with the
 * WireGuard module, where the packaged node-daemon ({@code datapath: auto}) picks the module and
 * wires a pod through the real CNI plugin; the other is a namespace on the host with the Java
 * datapath. Pods reach each other both ways (pings, a checksummed TCP transfer), the kernel node
 * records itself as the interface's owner (the chart's userspace datapath stands by there, see
 * {@link DatapathStandbyIT}), and when the kernel's {@code wiremesh0} is deleted under the running
 * daemon, nothing of the pod's traffic leaves in clear and the daemon brings the tunnel back. Then
 * {@code spec.datapath} is edited live while the kernel node's pod pings across: to {@code userspace}
 * (the chart's datapath container, standing by in the VM, takes the interface over) and back to
 * {@code auto} (the kernel module again); pings lost and time to traffic are reported. A capture
 * on the VM's tap never shows a pod address: only WireGuard between node addresses (and the nodes'
 * own API-server connection).
 */
class KernelMeshIT {
    private static final String POOL = "10.44.0.0/16";
    private static final int PAYLOAD = 1 << 20;
    private final String id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
    private final String mesh = "e2e-k" + id;
    private final String javaIf = "wmkm" + id;
    private Host host;
    private KernelVm.Running vm;
    private KubernetesClient client;

    @AfterEach
    void tearDown() throws Exception {
        if (vm != null) vm.close(); // a test that failed while the VM ran: stop it before its namespace goes
        MeshIT.cleanUp(host, client, mesh, javaIf);
    }

    @Test
    void aKernelNodeAndAJavaNodeCarryPodTrafficAndTheKernelNodeFailsClosed() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root (namespaces, qemu)");
        Path daemonJar = jar("node-daemon/target", "wiremesh-node-daemon-.*-all\\.jar");
        Path cniJar = Host.ROOT.resolve("cni-plugin/target/wiremesh-cni.jar");
        assumeTrue(daemonJar != null && Files.exists(cniJar), "needs the packaged jars (mvn verify)");
        assumeTrue(Files.isExecutable(MeshIT.CNITOOL), "needs wmcnitool (scripts/install-deps.sh)");
        KernelVm.prepare();
        host = new Host();
        client = KubeApiServer.client();
        int port = KubeApiServer.port();
        Path share = Files.createDirectories(host.dir.resolve("share"));
        Files.copy(daemonJar, share.resolve("node-daemon.jar"));
        Files.copy(cniJar, share.resolve("wiremesh-cni.jar"));
        Files.copy(Host.ROOT.resolve("wireguard/target/wiremesh-wireguard-0.1.0-SNAPSHOT-all.jar"), share.resolve("wiremesh-wg.jar"));
        // The chart's datapath container command, with the image's launcher replaced by one for the VM (C1 only: emulated CPU).
        Files.writeString(share.resolve("wiremesh-wg"), "#!/bin/sh\nexec /usr/lib/jvm/temurin-25-jdk-amd64/bin/java --enable-native-access=ALL-UNNAMED"
                + " -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:off -Xmx64m -XX:-UsePerfData -jar /share/wiremesh-wg.jar \"$@\"\n");
        share.resolve("wiremesh-wg").toFile().setExecutable(true);
        Files.writeString(share.resolve("datapath-cmd"), DatapathStandbyIT.renderedScript().replace("/opt/wiremesh/bin/wiremesh-wg", "/share/wiremesh-wg"));
        Files.writeString(share.resolve("kubeconfig"), selfContained(KubeApiServer.kubeconfig()));

        // Node 1 (Java datapath) is a namespace; the VM (node 2) hangs off its tap: the underlay.
        String n1 = host.ns("wmk-" + id + "-n1"), vmNode = "wmk-" + id + "-vm", tap = "wmkt" + id;
        Host.sh("ip", "-n", n1, "tuntap", "add", "dev", tap, "mode", "tap");
        host.in(n1, "sysctl", "-qw", "net.ipv6.conf." + tap + ".disable_ipv6=1");
        Host.sh("ip", "-n", n1, "addr", "add", "10.212.0.1/24", "dev", tap);
        Host.sh("ip", "-n", n1, "link", "set", tap, "up");
        Host.sh("ip", "-n", n1, "route", "add", "default", "via", "10.212.0.2"); // plaintext would have a way out
        // Both nodes reach the API server (root namespace loopback) through a unix-socket hop in n1.
        Path apiSock = host.dir.resolve("api.sock");
        host.spawn("socat-root.log", null, "socat", "UNIX-LISTEN:" + apiSock + ",fork,mode=600", "TCP:127.0.0.1:" + port);
        host.spawn("socat-n1.log", null, "ip", "netns", "exec", n1, "socat", "TCP-LISTEN:" + port + ",fork,reuseaddr", "UNIX-CONNECT:" + apiSock);
        Path pcap = host.dir.resolve("tap.pcap");
        host.spawn("tcpdump.log", null, "ip", "netns", "exec", n1, "tcpdump", "-i", tap, "-n", "-U", "--immediate-mode", "-w", pcap.toString());
        await().atMost(Liveness.BOUND).until(() -> host.log("tcpdump.log").contains("listening on"));

        WireGuardMesh m = new WireGuardMesh();
        m.setMetadata(new ObjectMetaBuilder().withName(mesh).build());
        m.setSpec(new WireGuardMeshSpec());
        m.getSpec().podCIDRs = List.of(POOL);
        m.getSpec().listenPort = 51820;
        m.getSpec().datapath = WireGuardMeshSpec.Datapath.AUTO;
        m.getSpec().nodeSelector = Map.of("wiremesh-e2e", id);
        // One post-quantum preshared key for the whole test (the first exchange, at start), so both sides can be compared.
        m.getSpec().presharedKeys = new WireGuardMeshSpec.PresharedKeys();
        m.getSpec().presharedKeys.interval = "1h";
        m = client.resource(m).create();
        String[] names = {n1, vmNode};
        for (int i = 0; i < 2; i++) {
            WireGuardNode w = MeshIT.member(m, names[i], List.of("10.44." + (i + 1) + ".0/24"), List.of("10.44." + (i + 1) + ".1"));
            w.getSpec().nodeAddresses = List.of("10.212.0." + (i + 1));
            client.resource(w).create();
        }
        host.acceptProposals(client, mesh);

        // Node 1: the Java datapath, its node-daemon, a pod wired by libcni, and a receiver in the pod.
        host.spawn("wg-n1.log", null, "ip", "netns", "exec", n1, Host.ROOT.resolve("bin/wiremesh-wg").toString(), "-f", javaIf);
        Path kubeconfig = Files.writeString(host.dir.resolve("kubeconfig"), KubeApiServer.kubeconfig());
        Path cniSock = host.dir.resolve("n1-cni.sock");
        host.spawn("daemon-n1.log", Map.of("KUBECONFIG", kubeconfig.toString()), "ip", "netns", "exec", n1,
                Host.ROOT.resolve("bin/wiremesh-node-daemon").toString(), "--mesh", mesh, "--node-name", n1, "--node-ip", "10.212.0.1",
                "--interface", javaIf, "--state-dir", host.dir.resolve("state-n1").toString(), "--cni-socket", cniSock.toString());
        await().atMost(60, TimeUnit.SECONDS).until(() -> Files.exists(cniSock));
        String pod1 = host.ns("wmk-" + id + "-p1");
        Path cniBin = Files.createDirectories(host.dir.resolve("cni-bin"));
        Files.createSymbolicLink(cniBin.resolve("wiremesh"), Host.ROOT.resolve("bin/wiremesh-cni"));
        Path netd = Files.createDirectories(host.dir.resolve("net.d"));
        Files.writeString(netd.resolve("10-wiremesh.conflist"), "{\"cniVersion\":\"1.0.0\",\"name\":\"wiremesh\",\"plugins\":"
                + "[{\"type\":\"wiremesh\",\"socket\":\"" + cniSock + "\"}]}");
        Commands.Result add = Commands.run(List.of("ip", "netns", "exec", n1, MeshIT.CNITOOL.toString(), "add", "wiremesh", "/var/run/netns/" + pod1,
                "pod1-" + id), Map.of("NETCONFPATH", netd.toString(), "CNI_PATH", cniBin.toString(), "CNI_CACHE_DIR",
                host.dir.resolve("cni-cache").toString()), null);
        assertThat(add.out()).as("CNI ADD on node 1").contains("10.44.1.2/32");
        host.spawn("recv.log", null, "ip", "netns", "exec", pod1, "socat", "-u", "TCP-LISTEN:5001,bind=10.44.1.2,reuseaddr",
                "CREATE:" + host.dir.resolve("got-up"));
        byte[] up = new byte[PAYLOAD];
        ThreadLocalRandom.current().nextBytes(up);
        Files.write(share.resolve("up.bin"), up);

        // Node 2: the VM. Its node-daemon reaches the API server at the same 127.0.0.1:PORT through socat.
        Files.writeString(share.resolve("node.sh"), """
                exec 2>/share/trace
                set -x
                err() { echo "$*" >> /share/errors; }
                wait_for() { { set +x; } 2>/dev/null; n=0; while ! eval "$1"; do n=$((n + 1)); [ $n -lt $2 ] || { set -x; return 1; }; sleep 0.5; done; set -x; }
                ip addr add 10.212.0.2/24 dev eth0
                ip link set eth0 up
                ip route add default via 10.212.0.1
                socat TCP-LISTEN:%1$d,bind=127.0.0.1,fork,reuseaddr TCP:10.212.0.1:%1$d &
                java=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
                # The chart's userspace datapath container: stands by while the kernel module owns wiremesh0.
                sh -c "$(cat /share/datapath-cmd)" wiremesh0 > /share/datapath.log 2>&1 &
                KUBECONFIG=/share/kubeconfig $java --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx160m \\
                  -jar /share/node-daemon.jar --mesh %2$s --node-name %3$s --node-ip 10.212.0.2 --interface wiremesh0 \\
                  --state-dir /run/wm-state --cni-socket /run/wm-cni.sock > /share/daemon.log 2>&1 &
                daemon=$!
                wait_for '[ -S /run/wm-cni.sock ] || ! kill -0 $daemon' 480
                [ -S /run/wm-cni.sock ] || { err "no CNI socket"; exit 1; }
                cat /var/run/wireguard/wiremesh0.owner > /share/owner
                ip -d link show wiremesh0 > /share/link
                ip netns add pod
                # As a runtime does, the ADD is tried again while the daemon answers "try again later" (code 11: its
                # NetworkPolicy watches have not listed yet, which under emulation can take a while).
                add() {
                  echo '{"cniVersion":"1.0.0","name":"wiremesh","type":"wiremesh","socket":"/run/wm-cni.sock"}' | \\
                    CNI_COMMAND=ADD CNI_CONTAINERID=vmpod CNI_NETNS=/var/run/netns/pod CNI_IFNAME=eth0 CNI_PATH=/share \\
                    $java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:disable -jar /share/wiremesh-cni.jar > /share/cni-add.json 2>/share/cni-add.err
                }
                tries=0
                until add; do
                  tries=$((tries + 1))
                  grep -q '"code":11' /share/cni-add.json && [ $tries -lt 10 ] || { err "CNI ADD failed: $(cat /share/cni-add.json /share/cni-add.err)"; exit 1; }
                  sleep 5
                done
                wait_for 'ip netns exec pod ping -c 1 -W 1 10.44.1.2 > /dev/null 2>&1' 120 || err "the VM's pod cannot reach 10.44.1.2"
                ip netns exec pod ping -c 3 -i 0.2 10.44.1.2 > /share/ping-vm.out 2>&1
                ip netns exec pod socat -T 30 -u OPEN:/share/up.bin TCP:10.44.1.2:5001,connect-timeout=20 || err "upload from the VM's pod failed"
                wg show wiremesh0 dump > /share/wg.dump
                # The pair's post-quantum preshared key, installed through generic netlink.
                wait_for '! wg show wiremesh0 preshared-keys | grep -q "(none)"' 240 || err "no preshared key on the kernel interface"
                wg show wiremesh0 preshared-keys > /share/wg-psk
                touch /share/vm-done
                wait_for '[ -e /share/go-fail ]' 240 || err "the host never said go-fail"
                # Fail closed: the kernel interface disappears under the running daemon while the pod keeps sending.
                ip link del wiremesh0
                date +%%s.%%N > /share/deleted-at
                ip netns exec pod ping -c 20 -i 0.1 -W 1 10.44.1.2 > /share/ping-down.out 2>&1
                wait_for 'ip netns exec pod ping -c 1 -W 1 10.44.1.2 > /dev/null 2>&1' 120 || err "the tunnel did not come back"
                date +%%s.%%N > /share/recovered-at
                ip -d link show wiremesh0 > /share/link-after
                # Live switches of spec.datapath (the host edits the mesh), pinging across at 10/s:
                # switch PHASE READY-MARK EDITED-MARK LINK-KIND-PATTERN
                switch() {
                  ip netns exec pod ping -i 0.1 -W 1 10.44.1.2 > /share/ping-$1.out 2>&1 & pinger=$!
                  sleep 1; touch /share/$2
                  wait_for "[ -e /share/$3 ]" 240 || err "$1: the host never edited spec.datapath"
                  wait_for "ip -d link show wiremesh0 2>/dev/null | grep -q '$4'" 240 || err "$1: no interface of kind $4"
                  wait_for 'ip netns exec pod ping -c 1 -W 1 10.44.1.2 > /dev/null 2>&1' 240 || err "$1: no pod traffic after the switch"
                  sleep 2; kill -INT $pinger; wait $pinger
                }
                switch to-userspace switch-ready edited-userspace 'tun type tun'
                ip -d link show wiremesh0 > /share/link-userspace
                wg show wiremesh0 dump > /share/wg-userspace.dump 2>&1
                switch to-kernel userspace-ok edited-auto 'wireguard'
                ip -d link show wiremesh0 > /share/link-kernel-again
                cat /var/run/wireguard/wiremesh0.owner > /share/owner-again
                kill $daemon
                wait $daemon
                [ ! -e /share/errors ]
                """.formatted(port, mesh, vmNode));
        long t0 = System.nanoTime();
        vm = KernelVm.start(share, "node.sh", 1024, 720, "--netns", n1, "--tap", tap);
        await().atMost(360, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS)
                .until(() -> Files.exists(share.resolve("vm-done")) || !vm.alive());
        String ping1 = Commands.run(List.of("ip", "netns", "exec", pod1, "ping", "-c", "3", "-i", "0.2", "-W", "5", "10.44.2.2"), null, null).out();
        Files.writeString(share.resolve("go-fail"), "");
        // The live datapath switches, each applied when the VM node publishes the new generation with its datapath.
        String vmMember = WireGuardNode.nameFor(mesh, vmNode);
        double[] applied = new double[2];
        String[] marks = {"switch-ready", "userspace-ok"}, edits = {"edited-userspace", "edited-auto"};
        WireGuardMeshSpec.Datapath[] to = {WireGuardMeshSpec.Datapath.USERSPACE, WireGuardMeshSpec.Datapath.AUTO};
        WireGuardMeshSpec.Datapath[] expect = {WireGuardMeshSpec.Datapath.USERSPACE, WireGuardMeshSpec.Datapath.KERNEL};
        for (int i = 0; i < 2; i++) {
            String mark = marks[i];
            await().atMost(360, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS).until(() -> Files.exists(share.resolve(mark)) || !vm.alive());
            if (!vm.alive()) break;
            WireGuardMeshSpec.Datapath d = to[i];
            long t = System.nanoTime();
            long generation = client.resources(WireGuardMesh.class).withName(mesh).edit(x -> {
                x.getSpec().datapath = d;
                return x;
            }).getMetadata().getGeneration();
            Files.writeString(share.resolve(edits[i]), "");
            WireGuardMeshSpec.Datapath want = expect[i];
            await().atMost(240, TimeUnit.SECONDS).pollInterval(100, TimeUnit.MILLISECONDS).until(() -> {
                var st = client.resources(WireGuardNode.class).withName(vmMember).get().getStatus();
                return !vm.alive() || st != null && st.datapath == want && Long.valueOf(generation).equals(st.observedMeshGeneration);
            });
            applied[i] = (System.nanoTime() - t) / 1e9;
        }
        KernelVm.Result result = vm.await();
        System.out.printf("kernel VM node: %.1f s (exit %d)%n", (System.nanoTime() - t0) / 1e9, result.exit());
        String why = "errors: %s%ndaemon:%n%s%ntrace:%n%s%nconsole:%n%s".formatted(read(share, "errors"), read(share, "daemon.log"),
                read(share, "trace"), result.console());
        assertThat(result.exit()).as(why).isZero();

        // The kernel node took the module and told the chart's userspace datapath to stand by.
        assertThat(read(share, "owner")).isEqualTo("kernel\n");
        assertThat(read(share, "link")).contains("wireguard");
        assertThat(client.resources(WireGuardNode.class).withName(WireGuardNode.nameFor(mesh, vmNode)).get().getStatus().datapath)
                .isEqualTo(WireGuardMeshSpec.Datapath.KERNEL);
        assertThat(read(share, "cni-add.json")).as("CNI ADD in the VM: %s", read(share, "cni-add.err")).contains("10.44.2.2/32");
        // Pod to pod, both ways, and a checksummed transfer from the kernel node's pod.
        assertThat(read(share, "ping-vm.out")).as("kernel node's pod -> Java node's pod").contains("3 received");
        assertThat(ping1).as("Java node's pod -> kernel node's pod").contains("3 received");
        assertThat(sha256(Files.readAllBytes(host.dir.resolve("got-up")))).isEqualTo(sha256(up));
        assertThat(read(share, "wg.dump")).contains("10.212.0.1:51820", "10.44.1.0/24");
        // The kernel node and the Java node hold the same preshared key for each other (genl and UAPI).
        String kernelPsk = read(share, "wg-psk").strip().split("\\s+")[1];
        String javaPsk = host.in(n1, "wg", "show", javaIf, "preshared-keys").strip().split("\\s+")[1];
        assertThat(kernelPsk).matches("[A-Za-z0-9+/]{43}=").isEqualTo(javaPsk);
        // After wiremesh0 was deleted: the daemon made it again and pods talk again.
        assertThat(read(share, "link-after")).contains("wireguard");
        double down = Double.parseDouble(read(share, "recovered-at").trim()) - Double.parseDouble(read(share, "deleted-at").trim());
        System.out.printf("kernel node: wiremesh0 deleted, pod traffic back %.1f s later (emulated CPU)%n", down);
        // The live switches: userspace TUN made by the chart's container, then the kernel's interface again.
        assertThat(read(share, "link-userspace")).contains("tun type tun");
        assertThat(read(share, "wg-userspace.dump")).contains("10.212.0.1:51820", "10.44.1.0/24");
        assertThat(read(share, "link-kernel-again")).contains("wireguard");
        assertThat(read(share, "owner-again")).isEqualTo("kernel\n");
        assertThat(read(share, "datapath.log")).contains("moved wiremesh0 to the kernel module");
        for (String phase : List.of("to-userspace", "to-kernel")) {
            var summary = java.util.regex.Pattern.compile("(\\d+) packets transmitted, (\\d+) received").matcher(read(share, "ping-" + phase + ".out"));
            assertThat(summary.find()).as("ping summary %s", phase).isTrue();
            int sent = Integer.parseInt(summary.group(1)), got = Integer.parseInt(summary.group(2));
            System.out.printf("kernel node: spec.datapath switch %s applied (status) %.1f s after the edit; pings at 10/s: %d of %d answered,"
                    + " %d lost (~%.1f s without traffic, emulated CPU)%n", phase, applied[phase.equals("to-userspace") ? 0 : 1], got, sent, sent - got,
                    (sent - got) / 10.0);
        }

        // The wire: never a pod address in clear, while WireGuard carried the traffic.
        Thread.sleep(500);
        String clear = Commands.run(List.of("tcpdump", "-r", pcap.toString(), "-n", "net " + POOL), null, null).out();
        assertThat(clear.lines().filter(l -> !l.startsWith("reading from"))).as("pod traffic in clear on the underlay").isEmpty();
        long wg = Commands.run(List.of("tcpdump", "-r", pcap.toString(), "-n", "udp port 51820"), null, null).out()
                .lines().filter(l -> l.contains("UDP")).count();
        assertThat(wg).as("WireGuard datagrams on the underlay").isGreaterThan(PAYLOAD / 1500);
    }

    /** The kubeconfig with its certificate and key files inlined (*-data): the VM does not see the host's files. */
    private static String selfContained(String kubeconfig) throws Exception {
        var m = java.util.regex.Pattern.compile("(?m)^(\\s*)(certificate-authority|client-certificate|client-key): *\"?([^\"\\n]+)\"?$").matcher(kubeconfig);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String data = java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(Path.of(m.group(3).trim())));
            m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(m.group(1) + m.group(2) + "-data: " + data));
        }
        return m.appendTail(out).toString();
    }

    private static Path jar(String dir, String pattern) throws Exception {
        try (Stream<Path> s = Files.list(Host.ROOT.resolve(dir))) {
            return s.filter(p -> p.getFileName().toString().matches(pattern)).findFirst().orElse(null);
        }
    }

    private static String read(Path dir, String name) throws Exception {
        Path p = dir.resolve(name);
        return Files.exists(p) ? Files.readString(p) : "";
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
