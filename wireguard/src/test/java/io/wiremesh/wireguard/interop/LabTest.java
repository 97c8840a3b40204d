package io.wiremesh.wireguard.interop;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** Base of the namespace tests: a fresh {@link Lab} per test, removed afterwards even on failure. */
abstract class LabTest {
    protected Lab lab;

    @BeforeEach
    void createLab() throws Exception {
        Lab.assumeCapable();
        lab = new Lab();
    }

    @AfterEach
    void removeLab() {
        if (lab != null) lab.close();
    }
}
