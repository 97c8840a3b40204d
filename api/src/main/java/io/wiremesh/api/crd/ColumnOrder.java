package io.wiremesh.api.crd;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** The order kubectl shows a custom resource's printer columns in (the CRD generator sorts them by JSON path). */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface ColumnOrder {
    String[] value();
}
