package io.wiremesh.operator;

import io.wiremesh.testing.KubeApiServer;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Points the Quarkus application under test at the real kube-apiserver of {@link KubeApiServer}. */
public class KubeApiResource implements QuarkusTestResourceLifecycleManager {
    @Override
    public Map<String, String> start() {
        try {
            Path kubeconfig = Files.createTempFile("wiremesh-kubeconfig", ".yaml");
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
        // the API server lives until the JVM exits
    }
}
