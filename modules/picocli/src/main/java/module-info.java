/**
 * picocli, compiled from its published sources at release 25 (see this module's pom.xml): the declaration of its
 * published jar (META-INF/versions/9/module-info.class), written out.
 */
module info.picocli {
    requires static java.sql;
    exports picocli;
}
