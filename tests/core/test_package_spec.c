/* install_package's spec check: names and versions pass, anything that
 * could make pip do more than choose a package is refused. */
#include "testutil.h"

static void test_accepted(void **state)
{
    (void)state;
    const char *ok[] = {"numpy", "numpy>=1.26", "pandas==2.2.2", "scikit-learn",
                        "requests[socks]>=2,<3", "zope.interface", "a", "Py_Thing~=1.4.2",
                        "torch!=2.0.0", NULL};
    for (const char **s = ok; *s; s++)
        if (runbox_package_spec_check(*s) != RUNBOX_OK)
            fail_msg("refused %s: %s", *s, runbox_error_last());
}

static void test_refused(void **state)
{
    (void)state;
    const char *bad[] = {"", "-r requirements.txt", "--index-url=http://evil", "-e .",
                         "http://evil/pkg.whl", "git+https://x/y", "pkg @ https://x",
                         "./local", "/abs/path", "..", "numpy; os_name=='nt'",
                         "numpy && rm -rf /", "numpy $(id)", "numpy`id`", "numpy\nevil",
                         "-numpy", "x-1.0-py3-none-any.whl", "pkg-1.0.tar.gz",
                         "PKG.ZIP", "thing.egg", "x.tgz", NULL};
    for (const char **s = bad; *s; s++) {
        if (runbox_package_spec_check(*s) != RUNBOX_EDENIED)
            fail_msg("accepted '%s'", *s);
        assert_true(runbox_error_last()[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
