/* The rule `runbox repl` uses to decide that input needs another line
 * (cli/repl_input.c), case by case as `runbox repl --help` states it. */
#include "testutil.h"

#include "cli.h"

static void complete(const char *text)
{
    if (cli_repl_incomplete(text))
        fail_msg("should run now: \"%s\"", text);
}

static void more(const char *text)
{
    if (!cli_repl_incomplete(text))
        fail_msg("should wait for another line: \"%s\"", text);
}

static void test_simple_lines(void **state)
{
    (void)state;
    complete("x = 1");
    complete("print('a:')");           /* ':' inside a string */
    complete("d = {'a': 1}");          /* ':' inside brackets */
    complete("x = 1  # if y:");        /* ':' inside a comment */
    complete("for i in range(3): print(i)");
    complete("s = 'open ( paren'");
    complete("s = \"\\\"(\"");          /* escaped quote, then a bracket */
}

static void test_brackets_and_backslash(void **state)
{
    (void)state;
    more("print(1 +");
    complete("print(1 +\n2)");
    more("x = [1,\n 2,");
    complete("x = [1,\n 2,\n]");
    more("x = 1 + \\");
    complete("x = 1 + \\\n 2");
    complete("x = (1  # a ( in a comment\n)");
}

static void test_blocks_end_with_an_empty_line(void **state)
{
    (void)state;
    more("def f(a):");
    more("def f(a):\n    return a");
    more("def f(a):\n    return a\nprint(f(1))");
    complete("def f(a):\n    return a\n");
    complete("def f(a):\n    return a\n   ");
    more("@decorator");
    more("@decorator\ndef f():\n    pass");
    complete("@decorator\ndef f():\n    pass\n");
    more("if (x and\n    y):");
    more("class A:  # a comment after the colon");
}

static void test_triple_quoted_strings(void **state)
{
    (void)state;
    more("s = '''first");
    more("s = '''first\nsecond: (");
    complete("s = '''first\nsecond: (\n'''");
    more("s = \"\"\"a");
    complete("s = \"\"\"a\"\"\"");
    complete("s = 'unterminated");     /* Python will report it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_lines),
        cmocka_unit_test(test_brackets_and_backslash),
        cmocka_unit_test(test_blocks_end_with_an_empty_line),
        cmocka_unit_test(test_triple_quoted_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
