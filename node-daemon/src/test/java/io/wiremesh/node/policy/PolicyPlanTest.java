package io.wiremesh.node.policy;

import io.wiremesh.api.policy.Policy;
import io.wiremesh.api.policy.PolicySnapshot;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link PolicyPlan} and {@link Policy#from} without a kernel: isolation, fail-closed cases, sets, and what the rule count grows with. */
class PolicyPlanTest {
    private static PolicySnapshot.Pod pod(String ns, String name, String ip, Map<String, String> labels) {
        return new PolicySnapshot.Pod(ns, name, labels, List.of(ip), List.of(new PolicySnapshot.NamedPort("http", "TCP", 8080)));
    }

    private static NetworkPolicy denyAll(String ns) {
        return new NetworkPolicyBuilder().withNewMetadata().withNamespace(ns).withName("deny").endMetadata()
                .withNewSpec().withNewPodSelector().endPodSelector().withPolicyTypes("Ingress", "Egress").endSpec().build();
    }

    @Test
    void podsWithoutPoliciesAreNotIsolatedAndEveryPodIsBoundToItsVeth() {
        var snapshot = new PolicySnapshot(List.of(pod("a", "p", "10.1.0.2", Map.of())), Map.of("a", Map.of()), List.of());
        var plan = PolicyPlan.of(snapshot, List.of(new PolicyPlan.LocalPod("a", "p", "wm0", List.of("10.1.0.2")),
                new PolicyPlan.LocalPod(null, null, "wm1", List.of("10.1.0.3"))));
        assertThat(plan.ingress()).isEmpty();
        assertThat(plan.egress()).isEmpty();
        assertThat(plan.bindings()).containsEntry("wm0", List.of("10.1.0.2")).containsEntry("wm1", List.of("10.1.0.3"));
    }

    @Test
    void aPodWhoseLabelsAreNotKnownYetIsIsolatedOnlyWhereItsNamespaceHasPolicies() {
        var snapshot = new PolicySnapshot(List.of(), Map.of(), List.of(Policy.from(denyAll("a"))));
        var plan = PolicyPlan.of(snapshot, List.of(new PolicyPlan.LocalPod("a", "new", "wm0", List.of("10.1.0.2")),
                new PolicyPlan.LocalPod("b", "new", "wm1", List.of("10.1.0.3"))));
        assertThat(plan.ingress()).containsExactly(Map.entry("10.1.0.2", PolicyPlan.DROP));
        assertThat(plan.egress()).containsExactly(Map.entry("10.1.0.2", PolicyPlan.DROP));
    }

    @Test
    void aPolicyWithoutRulesIsolatesAndAllowsNothing() {
        var snapshot = new PolicySnapshot(List.of(pod("a", "p", "10.1.0.2", Map.of())), Map.of("a", Map.of()), List.of(Policy.from(denyAll("a"))));
        var plan = PolicyPlan.of(snapshot, List.of(new PolicyPlan.LocalPod("a", "p", "wm0", List.of("10.1.0.2"))));
        assertThat(plan.ingress()).containsEntry("10.1.0.2", "pod0-in");
        assertThat(plan.egress()).containsEntry("10.1.0.2", "pod0-eg");
        assertThat(plan.podChains()).containsEntry("pod0-in", new PolicyPlan.PodChain("a", "p", "ingress", List.of("pol0-in")))
                .containsEntry("pod0-eg", new PolicyPlan.PodChain("a", "p", "egress", List.of("pol0-eg")));
        assertThat(plan.policyChains().get("pol0-in").lines()).isEmpty();
    }

    @Test
    void theRuleCountGrowsWithPoliciesNotWithPods() {
        NetworkPolicy fromFrontends = new NetworkPolicyBuilder().withNewMetadata().withNamespace("a").withName("web").endMetadata()
                .withNewSpec().withNewPodSelector().addToMatchLabels("app", "web").endPodSelector()
                .addNewIngress().addNewFrom().withNewPodSelector().addToMatchLabels("app", "frontend").endPodSelector().endFrom()
                .addNewPort().withPort(new IntOrString("http")).endPort().endIngress().endSpec().build();
        for (int pods : new int[] {10, 1000}) {
            List<PolicySnapshot.Pod> all = new ArrayList<>();
            List<PolicyPlan.LocalPod> local = new ArrayList<>();
            for (int i = 0; i < pods; i++) {
                String ip = "10.1." + (i / 250) + "." + (i % 250 + 2);
                all.add(pod("a", "p" + i, ip, Map.of("app", i % 2 == 0 ? "web" : "frontend")));
                if (i < 20) local.add(new PolicyPlan.LocalPod("a", "p" + i, "wm" + i, List.of(ip)));
            }
            var plan = PolicyPlan.of(new PolicySnapshot(all, Map.of("a", Map.of()), List.of(Policy.from(fromFrontends))), local);
            assertThat(plan.policyChains()).containsOnlyKeys("pol0-in");
            assertThat(plan.policyChains().get("pol0-in").lines()).hasSize(1); // one line: peers' set, named-port map
            assertThat(plan.sets().get("pol0-inr0-4").elements()).hasSize(pods / 2);
            assertThat(plan.sets().get("pol0-inr0p0-4").elements()).as("the selected pods of this node, by their named port").hasSize(Math.min(pods, 20) / 2)
                    .allMatch(e -> e.endsWith(" . 8080"));
        }
    }

    @Test
    void ipBlocksLeaveOutTheirExceptionsAndMergeWithPodAddresses() {
        NetworkPolicy np = new NetworkPolicyBuilder().withNewMetadata().withNamespace("a").withName("cidr").endMetadata()
                .withNewSpec().withNewPodSelector().endPodSelector()
                .addNewIngress().addNewFrom().withNewIpBlock().withCidr("10.2.0.1/16").withExcept("10.2.1.0/24", "10.2.255.255/32").endIpBlock().endFrom()
                .addNewFrom().withNewPodSelector().endPodSelector().endFrom().endIngress().endSpec().build();
        var policy = Policy.from(np);
        assertThat(policy.problems()).isEmpty();
        var snapshot = new PolicySnapshot(List.of(pod("a", "p", "10.2.1.7", Map.of()), pod("a", "q", "10.2.0.9", Map.of())), Map.of("a", Map.of()), List.of(policy));
        var plan = PolicyPlan.of(snapshot, List.of(new PolicyPlan.LocalPod("a", "p", "wm0", List.of("10.2.1.7"))));
        assertThat(plan.sets().get("pol0-inr0-4").elements()).containsExactly("10.2.0.0-10.2.0.255", "10.2.1.7", "10.2.2.0-10.2.255.254");
    }

    @Test
    void whatCannotBeReadAllowsNothingAndIsNamed() {
        NetworkPolicy np = new NetworkPolicyBuilder().withNewMetadata().withNamespace("a").withName("odd").endMetadata()
                .withNewSpec().withNewPodSelector().endPodSelector()
                .addNewIngress().addNewFrom().withNewIpBlock().withCidr("not-a-cidr").endIpBlock().endFrom().endIngress()
                .addNewIngress().addNewPort().withProtocol("ICMP").endPort().endIngress().endSpec().build();
        var policy = Policy.from(np);
        assertThat(policy.problems()).hasSize(2).anyMatch(p -> p.contains("not-a-cidr")).anyMatch(p -> p.contains("ICMP"));
        assertThat(policy.ingress()).allMatch(Policy.Rule::broken);
        var snapshot = new PolicySnapshot(List.of(pod("a", "p", "10.1.0.2", Map.of())), Map.of("a", Map.of()), List.of(policy));
        var plan = PolicyPlan.of(snapshot, List.of(new PolicyPlan.LocalPod("a", "p", "wm0", List.of("10.1.0.2"))));
        assertThat(plan.ingress()).containsKey("10.1.0.2");
        assertThat(plan.policyChains().get("pol0-in").lines()).isEmpty();
        assertThat(plan.problems()).hasSize(2).allMatch(p -> p.startsWith("a/odd: "));
    }

    @Test
    void policyTypesDefaultAsTheApiSays() {
        NetworkPolicy egressRules = new NetworkPolicyBuilder().withNewMetadata().withNamespace("a").withName("e").endMetadata()
                .withNewSpec().withNewPodSelector().endPodSelector().addNewEgress().endEgress().endSpec().build();
        NetworkPolicy none = new NetworkPolicyBuilder().withNewMetadata().withNamespace("a").withName("n").endMetadata()
                .withNewSpec().withNewPodSelector().endPodSelector().endSpec().build();
        assertThat(Policy.from(egressRules)).extracting(Policy::ingressType, Policy::egressType).containsExactly(true, true);
        assertThat(Policy.from(none)).extracting(Policy::ingressType, Policy::egressType).containsExactly(true, false);
    }

    @Test
    void theTableIsOneTransactionWithItsDigest() {
        var snapshot = new PolicySnapshot(List.of(pod("a", "p", "10.1.0.2", Map.of())), Map.of("a", Map.of()), List.of(Policy.from(denyAll("a"))));
        String script = PolicyTable.script(PolicyPlan.of(snapshot, List.of(new PolicyPlan.LocalPod("a", "p", "wm0", List.of("10.1.0.2")))), "wiremesh0");
        assertThat(script).startsWith("# wiremesh-sha256:").contains("delete table inet wiremesh-policy\ntable inet wiremesh-policy {\n")
                .contains("\"wm0\" . 10.1.0.2").contains("10.1.0.2 : goto pod0-in")
                .as("the tunnel is never a pod's veth, whatever its name").contains("iifname \"wiremesh0\" accept");
        assertThat(script).isEqualTo(PolicyTable.script(PolicyPlan.of(snapshot, List.of(new PolicyPlan.LocalPod("a", "p", "wm0", List.of("10.1.0.2")))), "wiremesh0"));
    }
}
