"""The status page in a real headless Chromium: rendering, escaping, live refresh.

Needs /usr/bin/chromium, /usr/bin/chromedriver (Debian: apt-get install chromium
chromium-driver; .ci/run does it) and selenium; skipped with the reason otherwise.
STALKEER_SCREENSHOT=1 also writes docs/serve.png (desktop) and docs/serve-phone.png.
"""

import datetime as dt
import os
import re
import shutil
import signal
import time

import pytest

import stalkeer
from conftest import ROOT, start_stalkeer, subprocess_env
from test_ops import seed

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
XSS = '<script>alert(1)</script>'
DI = stalkeer.DownloadInfo
# Read at import: the isolated_env fixture clears STALKEER_* variables.
SCREENSHOT = os.environ.get('STALKEER_SCREENSHOT')

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - depends on the box
    webdriver = None

pytestmark = [
    pytest.mark.skipif(webdriver is None, reason='selenium is not installed (pip install selenium)'),
    pytest.mark.skipif(not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
                       reason=f'needs {CHROMIUM} and {CHROMEDRIVER} '
                              '(apt-get install chromium chromium-driver)'),
]


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--no-first-run', f'--user-data-dir={tmp_path / "chrome-profile"}',
                '--window-size=1200,900', '--hide-scrollbars'):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    # chromedriver listens on a port selenium picked free a moment before: on a
    # busy box another process may take it first, and the driver exits 1 at
    # start ("Service … unexpectedly exited", seen once in CI beside other
    # work). Starting it again on a new port is no retry of anything tested.
    from selenium.common.exceptions import WebDriverException
    for attempt in range(3):
        try:
            driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
            break
        except WebDriverException:
            if attempt == 2:
                raise
            time.sleep(1)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()
    shutil.rmtree(tmp_path / 'chrome-profile', ignore_errors=True)


class Served:
    """A running `stalkeer -v serve`: its URL, the seeded rows, and its log once stopped."""

    def __init__(self, proc, url, rows):
        self.proc, self.url, self.rows, self.log = proc, url, rows, None

    def stop(self):
        if self.log is None:
            self.proc.send_signal(signal.SIGTERM)
            out, err = self.proc.communicate(timeout=10)
            self.log = out + err
        return self.log


@pytest.fixture
def served(tmp_path, sqlite_url):
    """`stalkeer -v serve` (a real process) over a populated SQLite database."""
    rows = seed(tmp_path, sqlite_url)
    db = stalkeer.open_database(sqlite_url, str(tmp_path))
    info = stalkeer.StateManager(owner='seed').get_or_create(
        'http://h:8080/movie/alice/hunter22pw/x.mkv', str(tmp_path / 'lib' / 'x'), XSS)
    DI.update(status='failed', error_message='HTTP 551 too many connections', retry_count=1,
              total_bytes=2_000_000_000, bytes_downloaded=500_000_000).where(DI.id == info.id).execute()
    rows['xss'] = info.id
    # Make the picture look like a real library.
    DI.update(title='Heat (1995)', total_bytes=2_400_000_000, bytes_downloaded=1_030_000_000,
              session_start_bytes=1_000_000_000, session_started_at=stalkeer.db_now(-30)).where(
        DI.id == rows['live']).execute()
    DI.update(title='Alien (1979)', total_bytes=1_800_000_000).where(DI.id == rows['done']).execute()
    # A failure out of retries ([downloads] max_retry_attempts = 5) and playlist lines to search.
    gave_up = stalkeer.StateManager(owner='seed').get_or_create(
        'http://h:8080/movie/alice/hunter22pw/g.mkv', str(tmp_path / 'lib' / 'g'), 'Gone Girl (2014)')
    DI.update(status='failed', error_message='HTTP 403 Forbidden', retry_count=5).where(
        DI.id == gave_up.id).execute()
    rows['gave_up'] = gave_up.id
    stalkeer.ProcessedLine.insert_many([
        {'line_hash': str(i), 'content_type': 'movies', 'title': title, 'year': year,
         'match_key': stalkeer.match_key(title), 'display_title': f'{title} ({year}) FHD',
         'resolution': '1080p', 'languages': 'FR', 'url': f'http://h:8080/movie/alice/hunter22pw/{i}.mkv'}
        for i, (title, year) in enumerate((('Heat', 1995), ('Heathers', 1989), ('Alien', 1979)))]).execute()
    # An import of the playlist that was killed: the page says so (trial-17a F6).
    stalkeer.PlaylistImport.insert(source='m3u', digest='0' * 64, classifier_version='x', filter_key='0' * 64,
                                   run_id='r', started_at=dt.datetime(2026, 11, 30, 18, 31, 25)).execute()
    db.close()
    proc = start_stalkeer('--db', sqlite_url, '-v', 'serve', '--port', '0',
                          env=subprocess_env(STALKEER_SERVE_REFRESH_SECONDS='1'))
    line = proc.stdout.readline()
    match = re.fullmatch(r'serving (http://127\.0\.0\.1:\d+/)\n', line)
    if not match:
        proc.kill()
        pytest.fail(f'serve did not start: {line!r} {proc.communicate()[1]!r}')
    served = Served(proc, match.group(1), rows)
    yield served
    served.stop()


def text(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector).text


def test_status_page_renders_and_refreshes(browser, served, sqlite_url, tmp_path):
    url, rows = served.url, served.rows
    browser.get(url)
    # Rows are replaced at every refresh: an element found a moment ago may be gone.
    wait = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'#active tr[data-id="{rows["live"]}"]'))

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text                     # the <script> title did not run
    assert text(browser, '#count-completed') == '1'
    assert text(browser, '#count-failed') == '3'
    assert text(browser, '#count-downloading') == '2'
    assert text(browser, '#imports .import.incomplete') == (
        'playlist: the last import did not complete (started 2026-11-30 18:31:25 UTC): the lines stored '
        'may be only part of the playlist; run `stalkeer process` again')
    live = f'#active tr[data-id="{rows["live"]}"]'
    assert text(browser, f'{live} .title') == 'Heat (1995)'
    assert text(browser, f'{live} .progress') == '42.9%'
    assert 'alive-host-1-abc' in text(browser, f'{live} .lock')
    assert text(browser, f'#failed tr[data-id="{rows["broken"]}"] .error') == 'HTTP 404 Not Found'
    xss_row = f'#failed tr[data-id="{rows["xss"]}"]'
    assert text(browser, f'{xss_row} .title') == XSS      # shown as text
    assert not browser.find_elements(By.CSS_SELECTOR, 'td script')
    assert text(browser, f'#completed tr[data-id="{rows["done"]}"] .title') == 'Alien (1979)'

    browser.execute_script('window.notReloaded = true;')
    db = stalkeer.open_database(sqlite_url, str(tmp_path))
    DI.update(bytes_downloaded=1_800_000_000).where(DI.id == rows['live']).execute()
    db.close()
    wait.until(lambda d: text(d, f'{live} .progress') == '75.0%')
    assert browser.execute_script('return window.notReloaded') is True

    if SCREENSHOT:
        docs = ROOT / 'docs'
        docs.mkdir(exist_ok=True)
        for name, width, height, mobile in (('serve.png', 1200, 900, False),
                                            ('serve-phone.png', 390, 844, True)):
            browser.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {
                'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': mobile})
            wait.until(lambda d: d.execute_script('return window.innerWidth') == width)
            browser.save_screenshot(str(docs / name))


def ids(driver, table):
    return [int(tr.get_attribute('data-id')) for tr in driver.find_elements(By.CSS_SELECTOR, f'#{table} tbody tr')]


def test_active_rows_keep_their_order_and_show_where_they_land(browser, served, sqlite_url, tmp_path):
    rows = served.rows
    browser.get(served.url)
    wait = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: len(ids(d, 'active')) == 2)
    first = ids(browser, 'active')
    assert first == sorted([rows['live'], rows['dead']])
    live = f'#active tr[data-id="{rows["live"]}"]'
    assert text(browser, f'{live} .destination') == str(tmp_path / 'lib' / 'live.mkv')
    # Progress saves touch one row after the other (updated_at): the order stays.
    for row_id in reversed(first * 2):
        loaded = browser.execute_script('return document.body.dataset.loaded')
        db = stalkeer.open_database(sqlite_url, str(tmp_path))
        DI.update(updated_at=stalkeer.db_now(), bytes_downloaded=DI.bytes_downloaded + 10).where(
            DI.id == row_id).execute()
        db.close()
        wait.until(lambda d: d.execute_script('return document.body.dataset.loaded') != loaded)
        assert ids(browser, 'active') == first

    # A failure out of retries says how to retry it.
    gave_up = f'#failed tr[data-id="{rows["gave_up"]}"]'
    assert 'gave up after 5 retries' in text(browser, f'{gave_up} .retries')
    assert text(browser, f'{gave_up} .retry-command') == f'stalkeer retry {rows["gave_up"]}'
    assert not browser.find_elements(By.CSS_SELECTOR, f'#failed tr[data-id="{rows["broken"]}"] .retry-command')
    # "updated" carries the date and the refresh interval; the icon is inline.
    updated = text(browser, '#updated')
    assert re.search(r'\d{4}', updated) and updated.endswith('· every 1 s'), updated
    icon = browser.find_element(By.CSS_SELECTOR, 'link[rel="icon"]').get_attribute('href')
    assert icon.startswith('data:image/svg+xml,')
    log = served.stop()
    assert '"GET / HTTP/1.1" 200' in log and 'favicon' not in log      # no 404 for an icon


def test_search_box_finds_playlist_lines(browser, served):
    browser.get(served.url)
    wait = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: d.execute_script('return document.body.dataset.loaded'))
    box = browser.find_element(By.ID, 'search')
    box.send_keys('HÉAT')                                  # accents and case do not matter
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '#lines tbody tr[data-id]')) == 2)
    titles = [td.text for td in browser.find_elements(By.CSS_SELECTOR, '#lines tbody td.title')]
    assert titles == ['Heat (1995)', 'Heathers (1989)']
    assert text(browser, '#lines-note') == '2 line(s) starting with “heat”'
    line = text(browser, '#lines tbody tr[data-id] td.path')
    assert 'Heat (1995) FHD' in line and '/movie/***/***/0.mkv' in line and 'hunter22pw' not in line
    box.send_keys(Keys.BACKSPACE * 4 + 'alien')
    wait.until(lambda d: [td.text for td in d.find_elements(By.CSS_SELECTOR, '#lines tbody td.title')]
               == ['Alien (1979)'])
    box.clear()
    box.send_keys('zzz')
    wait.until(lambda d: text(d, '#lines-note') == '0 line(s) holding “zzz”')


def test_a_list_past_fifty_rows_says_how_many_more(browser, tmp_path, sqlite_url):
    """The page cut each list at 50 rows silently; it now ends with the count
    of the rest, as `status` does."""
    db = stalkeer.open_database(sqlite_url, str(tmp_path))
    state = stalkeer.StateManager(owner='seed')
    for i in range(53):
        info = state.get_or_create(f'http://h/movie/u/p/{i}.mkv', str(tmp_path / 'lib' / f'm{i}'), f'M {i}')
        DI.update(status='completed', file_size=10, download_path=f'/lib/m{i}.mkv',
                  completed_at=stalkeer.utcnow()).where(DI.id == info.id).execute()
    db.close()
    proc = start_stalkeer('--db', sqlite_url, 'serve', '--port', '0', env=subprocess_env())
    try:
        match = re.fullmatch(r'serving (http://127\.0\.0\.1:\d+/)\n', proc.stdout.readline())
        assert match, proc.communicate()[1]
        browser.get(match.group(1))
        wait = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#completed td.more'))
        assert len(browser.find_elements(By.CSS_SELECTOR, '#completed tbody tr[data-id]')) == 50
        assert text(browser, '#completed td.more') == '… and 3 more (stalkeer status --limit N lists them)'
        assert not browser.find_elements(By.CSS_SELECTOR, '#failed td.more')
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
