package io.wiremesh.node;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MainArgsTest {
    @Test
    void flagsWithEqualsAreSplitAndValuesKeepTheirOwnEquals() {
        assertThat(Main.splitEquals(new String[] {"--mesh=default", "--interface", "wm0", "--pod-cidr=10.0.0.0/24", "uninstall-cni", "--x=a=b"}))
                .containsExactly("--mesh", "default", "--interface", "wm0", "--pod-cidr", "10.0.0.0/24", "uninstall-cni", "--x", "a=b");
    }
}
