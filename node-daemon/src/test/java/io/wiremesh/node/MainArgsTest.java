package io.wiremesh.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.api.net.Cidr;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The node-daemon's flags as the chart and the tests write them. */
class MainArgsTest {
    private static NodeDaemon.Options parse(String... args) {
        Main main = new Main();
        new CommandLine(main).parseArgs(args);
        return main.config();
    }

    @Test
    void flagsWithEqualsAndSeparateValuesBothWork() {
        NodeDaemon.Options c = parse("--mesh=default", "--node-name", "n1", "--node-ip=198.18.0.1", "--interface", "wm0",
                "--daemonset=wiremesh-node", "--cni-conf-dir=/etc/cni/net.d");
        assertThat(c.mesh()).isEqualTo("default");
        assertThat(c.nodeName()).isEqualTo("n1");
        assertThat(c.nodeIp()).isEqualTo("198.18.0.1");
        assertThat(c.ifname()).isEqualTo("wm0");
        assertThat(c.daemonSet()).isEqualTo("wiremesh-node");
        assertThat(c.cniConfDir()).isEqualTo(Path.of("/etc/cni/net.d"));
        assertThat(c.state()).isEqualTo(Path.of("/var/lib/wiremesh"));
        assertThat(c.statusAddress()).isEqualTo("0.0.0.0:9465");
    }

    @Test
    void podCidrsAreACommaList() {
        assertThat(parse("--pod-cidr=10.0.0.0/24,fd00::/64").podCidrs()).containsExactly(Cidr.parse("10.0.0.0/24"), Cidr.parse("fd00::/64"));
    }

    @Test
    void aDaemonNeedsAMeshOrABlockAndAMeshNeedsItsNode() {
        assertThatThrownBy(() -> parse("--interface", "wm0")).isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--pod-cidr");
        if (System.getenv("NODE_IP") == null) {
            assertThatThrownBy(() -> parse("--mesh", "m", "--node-name", "n1")).hasMessageContaining("--node-ip");
        }
        assertThatThrownBy(() -> parse("--pod-cidr", "10.0.0.0/33")).hasMessageContaining("--pod-cidr");
        assertThatThrownBy(() -> parse("--no-such-flag")).isInstanceOf(CommandLine.UnmatchedArgumentException.class);
    }

    @Test
    void uninstallCniIsASubcommandWithItsOwnFlag() {
        Main main = new Main();
        CommandLine.ParseResult r = new CommandLine(main).parseArgs("uninstall-cni", "--cni-conf-dir=/tmp/x");
        assertThat(r.subcommand().commandSpec().name()).isEqualTo("uninstall-cni");
        assertThat(((Main.UninstallCni) r.subcommand().commandSpec().userObject()).confDir).isEqualTo(Path.of("/tmp/x"));
    }
}
