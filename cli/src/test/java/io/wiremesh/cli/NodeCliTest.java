package io.wiremesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.identity.Proposal;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import io.wiremesh.testing.KubeApiServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** `wiremesh node approve` against a real kube-apiserver (the operator's use of the approval is NodeProposalTest's). */
class NodeCliTest {
    private KubernetesClient client;
    private Path kubeconfig;
    private String accepted, presented;

    @BeforeEach
    void setUp() throws Exception {
        client = KubeApiServer.client();
        kubeconfig = Files.createTempFile("wiremesh-cli", ".kubeconfig");
        Files.writeString(kubeconfig, KubeApiServer.kubeconfig());
        accepted = Proposal.base64(KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic());
        presented = Proposal.base64(KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic());
        WireGuardNode w = new WireGuardNode();
        w.setMetadata(new ObjectMetaBuilder().withName("cli-nmesh.n1").build());
        w.setSpec(new WireGuardNodeSpec());
        w.getSpec().mesh = "cli-nmesh";
        w.getSpec().nodeName = "n1";
        w.getSpec().podCIDRs = List.of("10.77.1.0/24");
        w.getSpec().identity = new WireGuardNodeSpec.Identity();
        w.getSpec().identity.signingKey = accepted;
        w.getSpec().identity.fingerprint = Proposal.fingerprint(accepted);
        client.resource(w).create();
        client.resources(WireGuardNode.class).withName("cli-nmesh.n1").editStatus(x -> {
            x.setStatus(new WireGuardNodeStatus());
            x.getStatus().identityKey = presented;
            return x;
        });
    }

    @AfterEach
    void tearDown() throws Exception {
        client.resources(WireGuardNode.class).withName("cli-nmesh.n1").delete();
        Files.deleteIfExists(kubeconfig);
    }

    private static CliRun wiremesh(String... args) {
        return CliRun.of(args);
    }

    private String annotation() {
        var a = client.resources(WireGuardNode.class).withName("cli-nmesh.n1").get().getMetadata().getAnnotations();
        return a == null ? null : a.get(WireGuardNode.APPROVED_IDENTITY);
    }

    @Test
    void approveSetsTheAnnotationTheOperatorReads() {
        String fp = Proposal.fingerprint(presented);
        CliRun r = wiremesh("node", "approve", "n1", fp, "--mesh", "cli-nmesh", "--kubeconfig", kubeconfig.toString(), "--timeout", "PT0S");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("approved identity " + fp + " for node n1");
        assertThat(annotation()).isEqualTo(fp);
    }

    @Test
    void aFingerprintTheNodeDoesNotPresentIsNotApproved() throws Exception {
        String other = Proposal.fingerprint(Proposal.base64(KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic()));
        CliRun r = wiremesh("node", "approve", "n1", other, "--mesh", "cli-nmesh", "--kubeconfig", kubeconfig.toString(), "--timeout", "PT1S");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("node n1 presents " + Proposal.fingerprint(presented) + ", not " + other + ": nothing approved");
        assertThat(annotation()).isNull();
    }

    @Test
    void anApprovalTheOperatorDoesNotUseInTimeSaysSo() {
        String fp = Proposal.fingerprint(presented);
        CliRun r = wiremesh("node", "approve", "n1", fp, "--mesh", "cli-nmesh", "--kubeconfig", kubeconfig.toString(), "--timeout", "PT1S");
        assertThat(r.exit()).isEqualTo(1); // no operator in this test
        assertThat(r.err()).contains("not accepted after 1 s: is the wiremesh operator running?").contains("kubectl get wgnode cli-nmesh.n1");
        assertThat(annotation()).isEqualTo(fp);
    }

    @Test
    void badInputChangesNothing() {
        CliRun r = wiremesh("node", "approve", "n1", "SHA256:tooshort", "--mesh", "cli-nmesh", "--kubeconfig", kubeconfig.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("is not a fingerprint");
        r = wiremesh("node", "approve", "n9", Proposal.fingerprint(presented), "--mesh", "cli-nmesh", "--kubeconfig", kubeconfig.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("no WireGuardNode cli-nmesh.n9");
        r = wiremesh("node", "approve", "n1", Proposal.fingerprint(accepted), "--mesh", "cli-nmesh", "--kubeconfig", kubeconfig.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("already the accepted one");
        assertThat(annotation()).isNull();
    }
}
