package io.wiremesh.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import org.junit.jupiter.api.Test;

/**
 * During a rolling upgrade the old operator, node-daemons and CLI read objects that newer ones wrote:
 * fields they do not know are ignored (as client-go does), never an error.
 */
class ForwardCompatibilityTest {
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void fieldsOfANewerVersionAreIgnored() throws Exception {
        WireGuardNode n = json.readValue("""
                {"apiVersion":"wiremesh.io/v1alpha1","kind":"WireGuardNode","metadata":{"name":"m.n1"},
                 "spec":{"nodeName":"n1","fromTheFuture":1,"publicKey":"ak","identity":{"signingKey":"i","proposalGeneration":3,"fromTheFuture":1}},
                 "status":{"publicKey":"k","fromTheFuture":{"a":1},"presharedKeys":{"peers":2,"fromTheFuture":true},
                           "proposal":{"generation":4,"signature":"s","fromTheFuture":"x"},
                           "peers":[{"node":"n2","fromTheFuture":0}]}}""", WireGuardNode.class);
        assertThat(n.getStatus().publicKey).isEqualTo("k");
        assertThat(n.getSpec().publicKey).isEqualTo("ak");
        assertThat(n.getSpec().identity.proposalGeneration).isEqualTo(3);
        assertThat(n.getStatus().proposal.generation).isEqualTo(4);
        assertThat(n.getStatus().presharedKeys.peers).isEqualTo(2);
        assertThat(n.getStatus().peers.getFirst().node).isEqualTo("n2");
        WireGuardMesh m = json.readValue("""
                {"apiVersion":"wiremesh.io/v1alpha1","kind":"WireGuardMesh","metadata":{"name":"m"},
                 "spec":{"podCIDRs":["10.42.0.0/16"],"egress":{"masquerade":false,"x":1},"presharedKeys":{"x":1},"x":[]},
                 "status":{"nodes":3,"x":"y"}}""", WireGuardMesh.class);
        assertThat(m.getSpec().masquerade()).isFalse();
        assertThat(m.getStatus().nodes).isEqualTo(3);
        WireGuardPeer p = json.readValue("""
                {"apiVersion":"wiremesh.io/v1alpha1","kind":"WireGuardPeer","metadata":{"name":"p"},
                 "spec":{"publicKey":"k","x":1,"presharedKeySecretRef":{"name":"s","x":2}},"status":{"x":1}}""", WireGuardPeer.class);
        assertThat(p.getSpec().presharedKeySecretRef.name).isEqualTo("s");
    }
}
