package io.wiremesh.operator;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import io.wiremesh.testing.KubeApiServer;

/** Points the Quarkus application under test at the real kube-apiserver of {@link KubeApiServer}. */
public class KubeApiResource implements QuarkusTestResourceLifecycleManager {
    private Path kubeconfig;

    @Override
    public Map<String, String> start() {
        try {
            kubeconfig = Files.createTempFile("wiremesh-kubeconfig", ".yaml");
            Files.writeString(kubeconfig, KubeApiServer.kubeconfig());
            System.setProperty("kubeconfig", kubeconfig.toString());
            System.setProperty("kubernetes.auth.tryServiceAccount", "false");
            return Map.of();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void stop() {
        // The API server lives until the JVM exits; its kubeconfig (a client key) does not outlive the tests.
        try {
            if (kubeconfig != null) Files.deleteIfExists(kubeconfig);
        } catch (java.io.IOException e) {
            System.err.println("cannot delete " + kubeconfig + ": " + e.getMessage());
        }
    }
}
