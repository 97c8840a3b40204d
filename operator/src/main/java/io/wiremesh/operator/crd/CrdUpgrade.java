package io.wiremesh.operator.crd;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.runtime.StartupEvent;
import io.wiremesh.api.crd.ModelDigest;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import jakarta.interceptor.Interceptor;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The operator owns the CRDs it needs: at start, before its controllers watch anything, it creates or updates the
 * CRDs its model was generated with (the api module's {@code META-INF/fabric8/*.yml}), as Cilium's and Calico's
 * operators do, because {@code helm upgrade} never upgrades a chart's crds/ and an API server prunes every field its
 * stored CRD does not know: a newer operator over older CRDs would lose new fields silently. Where it may not write
 * CRDs ({@code wiremesh.operator.manage-crds=false}, or RBAC refuses) it still runs if the served CRDs are the ones it
 * needs, and otherwise refuses to start, saying which CRD to apply.
 */
@Singleton
public class CrdUpgrade {
    private static final Logger LOG = Logger.getLogger(CrdUpgrade.class);
    /** The CRDs of the model, on the classpath (generated into the api jar). */
    static final List<String> RESOURCES = List.of("wireguardmeshes.wiremesh.io-v1.yml", "wireguardnodes.wiremesh.io-v1.yml",
            "wireguardpeers.wiremesh.io-v1.yml");

    /** What to do with one CRD; see {@link #decide}. */
    public enum Action { UP_TO_DATE, APPLY, REFUSE }

    void onStart(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) StartupEvent start, KubernetesClient client,
                 @ConfigProperty(name = "wiremesh.operator.manage-crds", defaultValue = "true") boolean manage) {
        ensure(client, manage);
    }

    /**
     * Brings every CRD of the model to this operator's version.
     *
     * @param manage whether the operator may write CRDs
     * @throws IllegalStateException a CRD is missing or differs and may not be written (the message says which, and what to do)
     */
    public static void ensure(KubernetesClient client, boolean manage) {
        List<String> refused = new ArrayList<>();
        for (CustomResourceDefinition wanted : model()) {
            String name = wanted.getMetadata().getName();
            CustomResourceDefinition served = client.apiextensions().v1().customResourceDefinitions().withName(name).get();
            Action action = decide(served, wanted, manage);
            if (action == Action.UP_TO_DATE) continue;
            if (action == Action.APPLY) {
                try {
                    // create/update, not server-side apply: Kubernetes 1.20's apply refuses the schema's x-kubernetes-validations.
                    if (served == null) client.resource(wanted).create();
                    else {
                        wanted.getMetadata().setResourceVersion(served.getMetadata().getResourceVersion());
                        client.resource(wanted).update();
                    }
                    LOG.infof("CRD %s %s to the operator's version", name, served == null ? "created" : "updated");
                    continue;
                } catch (KubernetesClientException e) {
                    if (e.getCode() != 403) throw e;
                    refused.add(name + " (" + (served == null ? "missing" : "older or different") + "; the operator may not write CRDs: " + e.getStatus().getMessage() + ")");
                    continue;
                }
            }
            refused.add(name + " (" + (served == null ? "missing" : "older or different") + "; wiremesh.operator.manage-crds is off)");
        }
        if (!refused.isEmpty()) {
            throw new IllegalStateException("the served CRDs are not the ones this operator needs, and it would drop their new fields: "
                    + String.join(", ", refused) + ". Apply charts/wiremesh/crds/ (kubectl replace -f charts/wiremesh/crds/, kubectl create for a missing one), "
                    + "or let the operator manage them (operator.manageCrds: true in the chart)");
        }
    }

    /**
     * Pure: a CRD the API server does not serve, or one stamped with another model's digest ({@link ModelDigest}; an
     * older release's, or none), is applied when the operator may write CRDs and refused otherwise.
     */
    public static Action decide(CustomResourceDefinition served, CustomResourceDefinition wanted, boolean manage) {
        if (served != null && Objects.equals(ModelDigest.stamped(served), ModelDigest.stamped(wanted))) return Action.UP_TO_DATE;
        return manage ? Action.APPLY : Action.REFUSE;
    }

    /** The model's CRDs, as generated into the api jar. */
    public static List<CustomResourceDefinition> model() {
        List<CustomResourceDefinition> crds = new ArrayList<>();
        for (String r : RESOURCES) {
            try (InputStream in = CrdUpgrade.class.getClassLoader().getResourceAsStream("META-INF/fabric8/" + r)) {
                if (in == null) throw new IllegalStateException("META-INF/fabric8/" + r + " is missing from the classpath (the api jar)");
                crds.add(Serialization.unmarshal(in, CustomResourceDefinition.class));
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + r + ": " + e.getMessage(), e);
            }
        }
        return crds;
    }
}
