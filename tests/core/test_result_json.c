/* The result's JSON form: exact round trip, also for binary output. */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void fill(runbox_result *r)
{
    runbox_result_init(r);
    r->verdict = RUNBOX_VERDICT_ERROR;
    r->exit_code = 1;
    r->out.data = malloc(6);
    memcpy(r->out.data, "a\0b\xff\xfe", 6); /* NUL and invalid UTF-8 */
    r->out.len = 5;
    r->out.total = 5;
    r->err.data = strdup("caf\xc3\xa9\n");
    r->err.len = strlen(r->err.data);
    r->err.total = 1000;
    r->err.truncated = 1;
    r->error_name = strdup("ZeroDivisionError");
    r->error_value = strdup("division by zero");
    r->traceback = strdup("Traceback...\n");
    r->rich = calloc(2, sizeof *r->rich);
    r->rich_count = 2;
    r->rich[0].mime = strdup("text/plain");
    r->rich[0].data = strdup("2");
    r->rich[0].len = 1;
    r->rich[0].is_main = 1;
    r->rich[1].mime = strdup("image/png");
    r->rich[1].data = malloc(4);
    memcpy(r->rich[1].data, "\x89PNG", 4);
    r->rich[1].len = 4;
    r->wall_seconds = 0.25;
    r->cpu_seconds = 0.125;
    strcpy(r->backend, "subprocess");
    strcpy(r->isolation, "namespaces(user,pid)");
    strcpy(r->message, "note");
    r->limits.wall_seconds = 60;
    r->limits.memory_bytes = 1 << 30;
    r->limits.network = 0;
    r->limits_applied = RUNBOX_LIMIT_WALL | RUNBOX_LIMIT_MEMORY;
    r->execution_count = 4;
}

static void test_round_trip(void **state)
{
    (void)state;
    runbox_result a, b;
    fill(&a);
    char *json = NULL;
    assert_int_equal(runbox_result_to_json(&json, &a), RUNBOX_OK);
    cJSON *o = cJSON_Parse(json); /* always valid JSON */
    assert_non_null(o);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "stdout_base64")));
    assert_null(cJSON_GetObjectItem(o, "stderr_base64")); /* valid UTF-8 */
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(o, "success")));
    cJSON_Delete(o);
    runbox_result_init(&b);
    assert_int_equal(runbox_result_from_json(&b, json), RUNBOX_OK);
    free(json);
    assert_int_equal(b.verdict, a.verdict);
    assert_int_equal(b.out.len, 5);
    assert_memory_equal(b.out.data, "a\0b\xff\xfe", 5);
    assert_string_equal(b.err.data, a.err.data);
    assert_true(b.err.truncated);
    assert_int_equal(b.err.total, 1000);
    assert_string_equal(b.error_name, "ZeroDivisionError");
    assert_string_equal(b.error_value, "division by zero");
    assert_int_equal(b.rich_count, 2);
    assert_string_equal(b.rich[0].mime, "text/plain");
    assert_true(b.rich[0].is_main);
    assert_int_equal(b.rich[1].len, 4);
    assert_memory_equal(b.rich[1].data, "\x89PNG", 4);
    assert_true(b.wall_seconds == 0.25);
    assert_true(b.cpu_seconds == 0.125);
    assert_string_equal(b.backend, "subprocess");
    assert_string_equal(b.isolation, "namespaces(user,pid)");
    assert_int_equal(b.limits.memory_bytes, 1 << 30);
    assert_int_equal(b.limits_applied, RUNBOX_LIMIT_WALL | RUNBOX_LIMIT_MEMORY);
    assert_int_equal(b.execution_count, 4);
    runbox_result_clear(&a);
    runbox_result_clear(&b);
}

static void test_malformed(void **state)
{
    (void)state;
    runbox_result r;
    runbox_result_init(&r);
    assert_int_equal(runbox_result_from_json(&r, "not json"), RUNBOX_EPROTO);
    assert_int_equal(runbox_result_from_json(&r, "[1,2]"), RUNBOX_EPROTO);
    assert_int_equal(runbox_result_from_json(&r, "{\"verdict\":\"nope\",\"stdout\":\"\",\"stderr\":\"\"}"),
                     RUNBOX_EPROTO);
    assert_int_equal(runbox_result_from_json(&r, "{\"verdict\":\"ok\",\"stdout\":\"\","
                                                 "\"stdout_base64\":\"!!!\",\"stderr\":\"\"}"),
                     RUNBOX_EPROTO);
    runbox_result_clear(&r);
}

static void test_names(void **state)
{
    (void)state;
    for (int v = RUNBOX_VERDICT_OK; v <= RUNBOX_VERDICT_CANCELED; v++) {
        runbox_verdict back;
        assert_int_equal(runbox_verdict_parse(&back, runbox_verdict_name(v)), RUNBOX_OK);
        assert_int_equal(back, v);
    }
    assert_string_equal(runbox_err_name(RUNBOX_EAUTH), "EAUTH");
    assert_string_equal(runbox_strerror(RUNBOX_OK), "success");
    assert_string_equal(runbox_err_name(-999), "EUNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
