"""Malformed playlist lines are named by one rule and given as values.

A newcomer trial: `process --dry-run` named a URL's problem at the #EXTINF
before it (`malformed line 2: the port is 0`, the URL on line 3), a stray line
at its own line; and `process --json` gave each as a sentence
(`'line 3: not a usable URL, …'`). The rule (ParseStats.add_malformed): the
line a reason names is the line that is wrong, the URL line for a URL's
problem, the #EXTINF for an EXTINF's. Table-driven over every reason
iter_playlist produces; -v's text and the JSON name the same lines."""

import io
import json

import pytest

import stalkeer
from stalkeer import ParseStats, iter_playlist, malformed_text

LONG = 'x' * 70_000
STRAY = 'not a usable URL, between an #EXTINF and its URL: skipped'
NO_URL_AFTER = 'EXTINF without URL (the line after it is not a URL)'

# (playlist body after '#EXTM3U', the samples: (line, reason, related_line),
# and the mark of the line each sample must name: the text that line starts with).
CASES = {
    'port 0 at the URL': ('#EXTINF:-1,A (2000)\nhttp://bob:pw@host:0/a.mkv\n',
                          [(3, 'port', None)], ['http://bob']),
    'not http at the URL': ('#EXTINF:-1,A (2000)\nftp://h/a.mkv\n#EXTINF:-1,B (2000)\nhttp://h/b.mkv\n',
                            [(3, 'URL is not http/https but ftp:', None)], ['ftp://']),
    'not http at the URL, end of file': ('#EXTINF:-1,A (2000)\nrtmp://h/live/1\n',
                                         [(3, 'URL is not http/https but rtmp:', None)], ['rtmp://']),
    'not http at the URL, a long line next': (
        '#EXTINF:-1,A (2000)\nrtmp://h/live/1\n#EXTINF:-1,' + LONG + '\nhttp://h/b.mkv\n',
        [(3, 'URL is not http/https but rtmp:', None), (4, 'line longer than 65536 bytes', None),
         (5, 'URL without EXTINF', None)], ['rtmp://', '#EXTINF:-1,x', 'http://h/b']),
    'a stray line at its line': ('#EXTINF:-1,A (2000)\nsome text\nhttp://h/a.mkv\n',
                                 [(3, STRAY, 2)], ['some text']),
    'a stray URL at its line': ('#EXTINF:-1,A (2000)\nhttp://h:0/x\nhttp://h/a.mkv\n',
                                [(3, STRAY, 2)], ['http://h:0']),
    'text under an EXTINF at the EXTINF': ('#EXTINF:-1,A (2000)\nsome text\n#EXTINF:-1,B (2000)\nhttp://h/b\n',
                                          [(2, NO_URL_AFTER, 3)], ['#EXTINF:-1,A']),
    'text under an EXTINF at the end': ('#EXTINF:-1,A (2000)\n\nsome text\n',
                                       [(2, NO_URL_AFTER, 4)], ['#EXTINF:-1,A']),
    'EXTINF without URL': ('#EXTINF:-1,A (2000)\n#EXTINF:-1,B (2000)\nhttp://h/b\n',
                           [(2, 'EXTINF without URL', None)], ['#EXTINF:-1,A']),
    'EXTINF at end of file': ('#EXTINF:-1,B (2000)\nhttp://h/b\n#EXTINF:-1,A (2000)\n',
                              [(4, 'EXTINF without URL at end of file', None)], ['#EXTINF:-1,A']),
    'URL without EXTINF': ('http://h/orphan.mkv\n#EXTINF:-1,B (2000)\nhttp://h/b\n',
                           [(2, 'URL without EXTINF', None)], ['http://h/orphan']),
    'not an M3U line': ('hello world\n#EXTINF:-1,B (2000)\nhttp://h/b\n',
                        [(2, 'not an M3U line (no EXTINF, not a URL)', None)], ['hello world']),
    'a long line': ('#EXTINF:-1,B (2000)\nhttp://h/b\n' + LONG + '\n',
                    [(4, 'line longer than 65536 bytes', None)], ['xxxx']),
}


def parse(body: str) -> ParseStats:
    stats = ParseStats()
    list(iter_playlist(io.BytesIO(('#EXTM3U\n' + body).encode()), stats))
    return stats


@pytest.mark.parametrize('case', CASES)
def test_each_reason_names_the_line_that_is_wrong(case):
    body, expected, marks = CASES[case]
    stats = parse(body)
    samples = stats.malformed_samples
    assert [(s['line'], s['related_line']) for s in samples] == [(line, rel) for line, _, rel in expected]
    for sample, (_, reason, _), mark in zip(samples, expected, marks):
        assert reason in sample['reason'] and set(sample) == {'line', 'reason', 'related_line'}
        lines = ('#EXTM3U\n' + body).split('\n')
        assert lines[sample['line'] - 1].startswith(mark), (case, sample)
        # The reason is a phrase of its own: never the line's text, nor a line number.
        assert mark not in sample['reason']
        if sample['related_line'] is not None:
            assert not any(ch.isdigit() for ch in sample['reason']), sample


@pytest.mark.parametrize('case', CASES)
def test_the_text_keeps_its_words(case):
    body, expected, _ = CASES[case]
    texts = [malformed_text(s) for s in parse(body).malformed_samples]
    for text, (line, reason, related) in zip(texts, expected):
        words = {STRAY: f'not a usable URL, between the #EXTINF on line {related} and its URL: skipped',
                 NO_URL_AFTER: f'EXTINF without URL (line {related} after it is not a URL)'}.get(reason, reason)
        assert text.startswith(f'line {line}: ') and words in text


def test_an_import_recorded_before_the_samples_were_values_reads_back_as_values():
    old = ['line 3: not a usable URL, between the #EXTINF on line 2 and its URL: skipped',
           'line 2: EXTINF without URL (line 4 after it is not a URL)', 'line 7: URL without EXTINF']
    values = [stalkeer.stored_malformed_sample(s) for s in old]
    assert values == [{'line': 3, 'reason': STRAY, 'related_line': 2},
                      {'line': 2, 'reason': NO_URL_AFTER, 'related_line': 4},
                      {'line': 7, 'reason': 'URL without EXTINF', 'related_line': None}]
    assert [malformed_text(v) for v in values] == old


@pytest.mark.parametrize('dry_run', [False, True])
def test_verbose_text_and_json_name_the_same_lines(dry_run, cli, db_url, tmp_path):
    playlist = tmp_path / 'p.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1,A (2000)\nhttp://bob:s3cr3t@host:0/a.mkv\n'
                        '#EXTINF:-1,B (2000)\nftp://h/b.mkv\n#EXTINF:-1,C (2000)\nsome text\n'
                        'http://h/c.mkv\n#EXTINF:-1,D (2000)\nplain words\n'
                        '#EXTINF:-1,E (2000)\nhttp://h/e.mkv\n', encoding='utf-8')
    more = ['--dry-run'] if dry_run else []
    code, out, err = cli('-v', '--db', db_url, 'process', playlist, *more)
    assert code == 0, err
    shown = [line.split(': ', 1)[0].removeprefix('  malformed ') for line in out.splitlines()
             if line.startswith('  malformed line ')]
    code, out, err = cli('--db', db_url, 'process', playlist, '--json', '--force', *more)
    assert code == 0, err
    samples = json.loads(out)['malformed_samples']
    assert [s['line'] for s in samples] == [3, 5, 7, 9]
    assert shown == [f'line {s["line"]}' for s in samples]
    assert [s['related_line'] for s in samples] == [None, None, 6, 10]
    assert 's3cr3t' not in out + err and 'some text' not in out and 'plain words' not in out


def test_a_skipped_rerun_gives_the_samples_as_values(cli, db_url, tmp_path):
    playlist = tmp_path / 'p.m3u'
    playlist.write_text('#EXTM3U\n#EXTINF:-1,A (2000)\nsome text\nhttp://h/a.mkv\n', encoding='utf-8')
    first = json.loads(cli('--db', db_url, 'process', playlist, '--json')[1])
    again = json.loads(cli('--db', db_url, 'process', playlist, '--json')[1])
    assert again['skipped'] == 'unchanged'
    assert first['malformed_samples'] == again['malformed_samples'] == [
        {'line': 3, 'reason': STRAY, 'related_line': 2}]
