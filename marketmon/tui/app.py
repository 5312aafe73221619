"""The trader's screen: the app shell, its layout, keys, themes and refresh tick.

The engine (feed client + store + alerts) runs as a worker in the app's
event loop; with no --url the bundled demo day is served in-process over
loopback first. A 4 Hz timer looks at `store.version` and, inside one
`batch_update()`, hands the store to the panels that are on screen; each
panel redraws only what changed. Nothing shown is computed twice: pct,
limits, limit states and premiums come from the store's frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import ModalScreen, Screen, SystemModalScreen
from textual.widget import Widget
from textual.widgets import Input, Tab, Tabs

from marketmon.alerts.history import AlertHistory
from marketmon.alerts.notify import Notifier
from marketmon.alerts.rules import Alert
from marketmon.alerts.sinks import AlertSinks
from marketmon.alerts.sound import Player
from marketmon.config import paths, theme_choice
from marketmon.config.settings import load_or_defaults
from marketmon.engine import Engine, FeedChoice, day_recorder, open_feed
from marketmon.feed.client import FeedEvent, FeedUnreachable
from marketmon.store.state import Store
from marketmon.tui import fmt, freshness, keys, lists, themes
from marketmon.tui.commands import MarketmonCommands
from marketmon.tui.dialogs.help import HelpScreen
from marketmon.tui.list_edit import ListEditing
from marketmon.tui.panels.alert_log import AlertLog
from marketmon.tui.panels.board import BoardPanel
from marketmon.tui.panels.detail import Detail
from marketmon.tui.panels.etf_premium import EtfPremiumPanel
from marketmon.tui.panels.index_strip import IndexStrip
from marketmon.tui.panels.limit_board import LimitBoard
from marketmon.tui.panels.southbound import SouthboundPanel
from marketmon.tui.panels.status_bar import StatusBar
from marketmon.tui.panels.watchlist import ASCENDING_FIRST, COLUMNS, SORT_CYCLE, WatchlistPanel, WatchTable
from marketmon.tui.trace import PaintTrace
from marketmon.tui.widgets.grid import Grid
from marketmon.tui.widgets.help_line import HelpLine

DEMO_SPEED = 20.0
TICK_S = 0.2  # 5 Hz: smooth to the eye, cheap for the CPU; also the flush tick
# Below this size panels no longer fit side by side: one panel at a time.
COMPACT_WIDTH, COMPACT_HEIGHT = 140, 32
TICKER_HEIGHT, NO_STRIP_HEIGHT = 40, 16
FOOTER_ROOMY_WIDTH = 120  # narrower: the help line drops its padding and the palette hint
CHART_UNDER_LIST_HEIGHT = 30  # a small terminal this tall still shows the chart under the list
PANEL_TITLES = {"watchlists": "Watchlists", "detail": "Chart", "limits": "Limit board 涨停/跌停",
                "etf": "ETF premium", "southbound": "Southbound 港股通", "alerts": "Alerts",
                "board": "Ladder 连板天梯 · breadth 市场宽度 · A/H premium"}  # fmt: skip
VIEW_IDS = {"watch": "watchlists", "detail": "detail", "limits": "limits", "etf": "etf",
            "southbound": "southbound", "alerts": "alerts", "board": "board"}  # fmt: skip
ZOOM_ONLY = frozenset({"board"})  # panels shown only as a view of their own, never side by side


class MainScreen(Screen):
    """The monitor's screen: it tells the app when the terminal changes size."""

    def on_resize(self, event: Resize) -> None:
        app = self.app
        if isinstance(app, MarketmonApp) and hasattr(app, "_main"):
            app._apply_layout()


class MarketmonApp(ListEditing, App[int]):
    TITLE = "marketmon"
    CSS_PATH = ["app.tcss", "panels.tcss"]
    BINDINGS = keys.bindings()
    COMMANDS = App.COMMANDS | {MarketmonCommands}

    def __init__(
        self,
        *,
        url: str | None = None,
        watchlists: Sequence[str | Path] = (),
        speed: float | None = None,
        settings_path: Path | None = None,
        demo_start: int | None = None,
        demo_until: int | None = None,
        feed_options: dict[str, Any] | None = None,
        handle_signals: bool = False,
        source: str | None = None,
        source_options: dict[str, Any] | None = None,
    ) -> None:
        # Theme files load first: App.__init__ already asks for the theme variables.
        self.own_themes, theme_errors = themes.load_all()
        super().__init__()
        self.url = url
        self.demo = url is None and source is None  # the DEMO mark: never on a live feed
        self.speed = DEMO_SPEED if speed is None else speed
        self.demo_start, self.demo_until = demo_start, demo_until
        self.source = source  # a public quote source bridged in-process (marketmon --source NAME)
        self.source_options = source_options or {}  # base_url, interval: tests point them at a local server
        self.feed_options = feed_options or {}
        self.handle_signals = handle_signals
        # The settings file (sound, alert defaults, theme); a bad one means defaults and a message.
        self.settings, settings_error = load_or_defaults(settings_path)
        self.settings_path = self.settings.path or paths.settings_file()
        self.lists, self._list_errors = lists.load_lists(watchlists, base=self.settings.rules)
        self.alert_config = self.settings.alert_config(self.lists)
        self.names = self.settings.names  # [display] names; key n switches
        fmt.set_units(self.settings.units)  # [display] units; key U switches
        self.engine: Engine | None = None
        self.store: Store | None = None
        self.demo_server: Any = None  # the in-process QuoteServer of the demo
        self.source_server: Any = None  # the in-process bridge of --source
        self.feed_state = "connecting"
        self.view: str | None = None  # the one panel shown, or None for all
        self._seen: dict[str, int] = {}  # panel id -> store.version it last showed
        self._unseen_alerts = 0  # alerts fired while the alert log was off screen
        self._startup_notes = [(str(e), "Theme not loaded") for e in theme_errors]
        if settings_error is not None:
            self._startup_notes.append((str(settings_error), "Settings not read: running on defaults"))
        self.history = AlertHistory(paths.alert_history_file())
        # Every alert goes to the history, the sound player and (if on) the desktop;
        # the alert panel shows it on top (_on_alert).
        self.player = Player(self.settings.sound, bell=self.bell)
        self._startup_notes.extend((w, "Settings") for w in self.settings.warnings)
        self.sinks = AlertSinks(
            history=self.history, player=self.player, notifier=Notifier(enabled=self.settings.notify),
            deliveries=self.settings.deliveries(lambda s: [wl.name for wl in self.lists if s in wl.symbols]),
            rules=self.alert_config.for_symbol, on_error=lambda m: self.notify(m, severity="error"),
        )  # fmt: skip
        self._load_themes()

    # themes ------------------------------------------------------------------

    def _load_themes(self) -> None:
        found = self.own_themes
        for theme in found.values():
            self.register_theme(theme)
        chosen = self.settings.theme
        if chosen is not None and chosen not in found:
            self._startup_notes.append((f"theme {chosen!r} from {self.settings_path} not found", "Theme"))
            chosen = None
        self._persist_theme = False  # the first set is the saved choice, not a new one
        if not found:
            return  # no theme file loaded (each one was reported): Textual's default stays
        self.theme = chosen or (themes.DEFAULT_THEME if themes.DEFAULT_THEME in found else next(iter(found)))
        # Only our themes: their app variables ($price-up, ...) are what every panel needs.
        for name in list(self.available_themes):
            if name not in found:
                self.unregister_theme(name)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A dialog owns the keyboard. Tab and Shift+Tab are priority bindings, which
        # Textual runs over a dialog too: they would switch the list behind it (and an
        # edit would land in a list no longer on screen). Refused, the key goes on to
        # the dialog, where Tab moves between its fields. Ctrl+C still quits; the
        # command palette (a system screen) runs its commands after it closes.
        if action in keys.SCREEN_ACTIONS and self._dialog_open():
            return False
        return True

    def _dialog_open(self) -> bool:
        screen = self.screen
        return isinstance(screen, ModalScreen) and not isinstance(screen, SystemModalScreen)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # A user theme may leave app colours out: they fall back to the default theme's.
        default = getattr(self, "own_themes", {}).get(themes.DEFAULT_THEME)
        return dict(default.variables) if default else {}

    def watch_theme(self, name: str) -> None:
        if not self._persist_theme:
            return
        try:
            theme_choice.save_theme(self.settings_path, name)
        except (theme_choice.ThemeFileError, OSError) as exc:
            self.notify(str(exc), title="Theme not saved", severity="error", timeout=10)

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:  # fmt: skip
        # Messages quote file names, file contents and the feed: plain text, never markup.
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def set_theme(self, name: str) -> None:
        self.theme = name

    def action_theme_next(self) -> None:
        names = sorted(self.own_themes) or sorted(self.available_themes)
        self.theme = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.notify(f"Theme: {self.theme}", timeout=2)

    def action_names_toggle(self) -> None:
        """English names where the feed sends them, or the Chinese ones (the feed's own)."""
        self.names = "zh" if self.names == "en" else "en"
        self._redraw_figures()
        self.notify("Names: 中文" if self.names == "zh" else "Names: English", timeout=2)

    def action_units_toggle(self) -> None:
        """K/M/B/T, or amounts in 万/亿 and A-share volumes in 手."""
        fmt.set_units("intl" if fmt.UNITS["units"] == "cn" else "cn")
        self._redraw_figures()
        self.notify("Units: 万/亿, volumes in 手" if fmt.UNITS["units"] == "cn" else "Units: K/M/B/T", timeout=2)

    def _redraw_figures(self) -> None:
        """Names or units changed: every panel draws again on the next tick, without flashing."""
        if self.store is not None:
            self.store.set_names(self.names)
        for table in self.query(WatchTable):
            table.rows_raw.clear()  # re-rendered from the frame; a cleared row does not flash
        self._seen.clear()

    # layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(demo=self.demo, speed=self.speed if self.demo else None, id="status")
        yield IndexStrip(id="indices")
        yield Tabs(*[Tab(short, id=f"view-{name}") for name, _title, _key, short in keys.VIEWS], id="views")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield WatchlistPanel(self.lists, id="watchlists", classes="panel")
                yield Detail(id="detail", classes="panel")
            with Vertical(id="right"):
                yield LimitBoard(id="limits", classes="panel")
                yield EtfPremiumPanel(id="etf", classes="panel")
                yield SouthboundPanel(id="southbound", classes="panel")
                yield BoardPanel(id="board", classes="panel")
        yield AlertLog(self.history, id="alerts", classes="panel")
        yield HelpLine()

    def part(self, selector: str | type, expect: type = Widget) -> Any:
        """A widget of the main screen, whichever screen (help, palette) is on top."""
        return self._main.query_one(selector, expect)

    def on_mount(self) -> None:
        self._trace = PaintTrace.from_env()  # bench only: MARKETMON_TRACE=FILE
        self._main = self.screen
        # Kept, not queried: handlers still run while the app shuts down and the DOM empties.
        self._status = self.part(StatusBar)
        self._strip = self.part(IndexStrip)
        self._watchlists = self.part("#watchlists", WatchlistPanel)
        self._detail = self.part("#detail", Detail)
        self._alert_log = self.part(AlertLog)
        self._panels = [self.part(f"#{i}") for i in ("indices", "watchlists", "detail", "limits", "etf", "southbound",
                                                      "board")]  # fmt: skip
        for panel_id, title in PANEL_TITLES.items():
            self.part(f"#{panel_id}").border_title = title
        for message, title in self._startup_notes:
            self.notify(message, title=title, severity="error", timeout=15)
        for error in self._list_errors:
            self.notify(str(error), title="Watchlist not loaded", severity="error", timeout=15)
        self.start_list_watcher(self._list_errors)  # live reload: an editor's save shows at once
        self._persist_theme = True
        self.theme_changed_signal.subscribe(self, lambda _theme: self.watchlists.restyle())
        self._apply_layout()
        self.watchlists.table.focus()
        self.set_interval(TICK_S, self._tick)
        self._run_feed()
        if self.handle_signals:
            # SIGTERM / SIGHUP end the app as Ctrl+Q does, so the terminal is given back.
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                with contextlib.suppress(NotImplementedError, ValueError, AttributeError):
                    loop.add_signal_handler(sig, self.exit)

    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    @property
    def compact(self) -> bool:
        size = self._main.size
        return size.width < COMPACT_WIDTH or size.height < COMPACT_HEIGHT

    @property
    def watchlists(self) -> WatchlistPanel:
        return self._watchlists

    @property
    def detail(self) -> Detail:
        return self._detail

    def _apply_layout(self) -> None:
        """Show every panel, or (small terminal, zoomed panel) just one of them."""
        compact = self.compact
        view = self.view or ("watch" if compact else None)
        screen = self._main
        screen.set_class(compact, "-compact")
        screen.set_class(view is not None, "-single")
        strip = self.part(IndexStrip)
        height = self._main.size.height
        strip.display = height >= NO_STRIP_HEIGHT
        strip.set_class(compact or height < TICKER_HEIGHT, "-ticker")
        footer, width = self.part(HelpLine), self._main.size.width
        # The help line fits a small terminal: keys closer together, no palette hint
        # (Ctrl+P is on the help screen) rather than a label cut in half.
        footer.compact = width < FOOTER_ROOMY_WIDTH
        footer.show_command_palette = width >= FOOTER_ROOMY_WIDTH
        shown = VIEW_IDS.get(view) if view else None
        for name, panel_id in VIEW_IDS.items():
            self.part(f"#{panel_id}").display = (shown is None and panel_id not in ZOOM_ONLY) or panel_id == shown
        chart_under = compact and self.view is None and height >= CHART_UNDER_LIST_HEIGHT
        screen.set_class(chart_under, "-chart-under")
        if chart_under:
            self.detail.display = True  # room enough: the chart stays under the list
        self.part("#left").display = shown in (None, "watchlists", "detail")
        self.part("#right").display = shown in (None, "limits", "etf", "southbound", "board")
        self.part("#main").display = shown != "alerts"
        if view is not None:
            self.part("#views", Tabs).active = f"view-{view}"
        if self._alert_log.display:
            self._count_unseen(0)  # seen now
        self.call_after_refresh(self._tick)  # panels just shown catch up at once

    def action_view(self, name: str) -> None:
        """Show one panel; its key again (or Esc) brings back the full screen."""
        if self.view == name and not self.compact:
            name = None
        self.view = name
        self._apply_layout()
        target = self.part(f"#{VIEW_IDS[name]}") if name else self.watchlists
        self._focus_in(target)

    def action_view_next(self) -> None:
        names = [v[0] for v in keys.VIEWS]
        current = self.view or "watch"
        self.action_view(names[(names.index(current) + 1) % len(names)])

    @on(Tabs.TabActivated, "#views")
    def _view_tab(self, event: Tabs.TabActivated) -> None:
        if event.tab.id != event.tabs.active:
            return  # stale: the view changed again since (acting on it would bounce between views for ever)
        name = event.tab.id.removeprefix("view-")
        if (self.view or "watch") != name and (self.view is not None or self.compact):
            self.action_view(name)

    def _focus_in(self, widget: Widget) -> None:
        if widget is self.watchlists:
            self.watchlists.table.focus()
        elif widget.can_focus:
            widget.focus()
        else:
            focusable = [w for w in widget.query("*") if w.focusable]
            if focusable:
                focusable[0].focus()

    def action_back(self) -> None:
        box = self.part("#wl-filter", Input)
        if box.has_focus:
            self.watchlists.close_filter(clear=True)
        elif self.view is not None and (not self.compact or self.view != "watch"):
            self.action_view("watch" if self.compact else self.view)  # leave the zoomed panel
        elif box.display:
            self.watchlists.close_filter(clear=True)
        else:
            self.watchlists.table.focus()

    # watchlist actions -------------------------------------------------------------

    def action_list(self, n: int) -> None:
        self._show_watchlists()
        self.watchlists.switch(n - 1)

    def action_list_next(self) -> None:
        self._show_watchlists()
        self.watchlists.cycle(+1)

    def action_list_prev(self) -> None:
        self._show_watchlists()
        self.watchlists.cycle(-1)

    def _show_watchlists(self) -> None:
        if self.view not in (None, "watch"):
            self.action_view("watch")

    def action_move(self, step: int) -> None:
        self._show_watchlists()
        table = self.watchlists.table
        table.focus()
        if step > 0:
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    def action_sort_next(self) -> None:
        table = self.watchlists.table
        order = [None, *SORT_CYCLE]
        key = order[(order.index(table.sort_key) + 1) % len(order)]
        table.sort_by(key, reverse=key is not None and key not in ASCENDING_FIRST)
        self._say_sort(table)

    def action_sort_reverse(self) -> None:
        table = self.watchlists.table
        table.sort_by(table.sort_key, reverse=not table.reverse)
        self._say_sort(table)

    def sort_columns(self) -> list[str]:
        return ["list order", *(c.label for c in COLUMNS)]

    def sort_by_label(self, label: str) -> None:
        key = next((c.key for c in COLUMNS if c.label == label), None)
        self.watchlists.table.sort_by(key)
        self._say_sort(self.watchlists.table)

    def _say_sort(self, table: WatchTable) -> None:
        key = table.sort_key
        label = next((c.label for c in COLUMNS if c.key == key), "list order")
        if key in ("code", "name"):
            how = " Z-A" if table.reverse else " A-Z"
        elif key is not None:
            how = ", highest first ▼" if table.reverse else ", lowest first ▲"
        else:
            how = " (reversed)" if table.reverse else ""
        self.notify(f"Sorted by {label}{how}", timeout=2)

    @on(Grid.HeaderSelected)
    def _header_clicked(self, event: Grid.HeaderSelected) -> None:
        table = event.grid
        if isinstance(table, WatchTable):
            key = event.column_key
            table.sort_by(key, reverse=not table.reverse if table.sort_key == key else table.reverse)
            self._say_sort(table)

    def action_filter(self) -> None:
        self._show_watchlists()
        self.watchlists.open_filter()

    def list_titles(self) -> list[str]:
        return [t.title for t in self.watchlists.tables]

    @on(WatchlistPanel.Selected)
    def _selected(self, event: WatchlistPanel.Selected) -> None:
        self.detail.show(event.symbol, self.store)

    @on(Grid.RowSelected)
    def _row_selected(self, event: Grid.RowSelected) -> None:
        if isinstance(event.grid, WatchTable):
            self.detail.show(event.key, self.store)
            self.action_view("detail")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's own Quit, Theme and Keys would stand beside ours (Quit, Theme: NAME,
        # Help): the palette lists each command once.
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Theme", "Keys"):
                yield command

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # the feed and the tick ------------------------------------------------------------

    @work(exclusive=True, group="feed")
    async def _run_feed(self) -> None:
        feed = None
        try:
            self._feed_choice_made = self._feed_choice()
            feed = await open_feed(self._feed_choice_made)
            if self.source:
                self.source_server = feed.server  # it polls the lists' symbols (set_symbols on a list reload)
            elif self.demo:
                self.demo_server = feed.server  # tests move its hold (server.hold)
            self.engine = Engine(
                feed.url,
                day=day_recorder(self._feed_choice_made, write=True),
                alerts=self.alert_config,
                on_alert=self._on_alert,
                on_feed=self._on_feed,
                flush_interval=None,  # flushed by _tick, just before drawing
                **self.feed_options,
            )
            self.store = self.engine.store
            self.store.set_names(self.names)
            self.player.phases = lambda: self.engine.store.phases  # quiet outside trading
            await self.engine.run()
        except FeedUnreachable as exc:
            self.feed_state = "unreachable"
            self.notify(str(exc), title="Feed", severity="error", timeout=30)
        finally:
            if feed is not None:
                await feed.close()

    def _feed_choice(self) -> FeedChoice:
        if self.source:
            def on_event(state: str, detail: str) -> None:
                severity = "information" if state == "listed" else "warning"  # "listed": the day's market list
                self.notify(detail, title=f"{self.source}: {state}", severity=severity)

            options = {"on_event": on_event, "whole_market": True, "market_cache": paths.market_lists_dir(),
                       "flow_record": paths.flow_record_file(),
                       **self.source_options}  # the whole market, plus the lists' symbols
            return FeedChoice(source=self.source, symbols=self.list_symbols(), source_options=options)
        if self.url is not None:
            return FeedChoice(url=self.url)
        return FeedChoice(demo=True, speed=self.speed, start=self.demo_start, until=self.demo_until)

    def _on_feed(self, event: FeedEvent) -> None:
        if event.state in ("unknown", "error", "unclassified"):
            self.notify(event.detail, title=f"Feed: {event.state}", severity="warning", timeout=8)
            return
        if event.state == "source":
            return  # the status bar reads the source's health from the store: the feed itself is up
        self.feed_state = event.state

    def _on_alert(self, alert: Alert) -> None:
        self.sinks(alert)
        self._alert_log.add_alert(alert)
        if not self._alert_log.display:
            self._count_unseen(self._unseen_alerts + 1)  # a small screen: the panel bar says so

    def _count_unseen(self, n: int) -> None:
        """Alerts fired while the alert log was not on screen: counted on the panel bar's tab."""
        if n == self._unseen_alerts:
            return
        self._unseen_alerts = n
        tab = self.part("#views", Tabs).query_one("#view-alerts", Tab)
        short = next(v[3] for v in keys.VIEWS if v[0] == "alerts")
        tab.label = Text.assemble(short, (f" {n} ", "bold reverse")) if n else Text(short)

    def action_mute(self) -> None:
        muted = self.player.toggle_mute()
        self.notify("Alert sounds muted" if muted else "Alert sounds on", timeout=2)

    def _tick(self) -> None:
        if not self.is_running or not self._main.is_attached:
            return  # shutting down: the panels are going away
        store = self.store
        if self.engine is not None and store is not None and store.has_pending:
            self.engine.flush()  # the engine's own ticker is off: data waits one tick, not two
        messages = self.engine.client.stats.messages if self.engine else 0
        with self.batch_update():
            self._status.update_from(store, self.feed_state, messages, failing=self.sinks.failing(),
                                     clock=self._market_clock(store))  # fmt: skip
            if store is not None:
                for panel in self._live_panels():
                    behind = self._seen.get(panel.id) != store.version or getattr(panel, "needs_sync", False)
                    if behind and panel.display:
                        self._seen[panel.id] = store.version
                        panel.refresh_from(store)  # type: ignore[attr-defined]
            self.watchlists.expire_flashes()
            self._mark_old(store)
        if self._trace is not None and store is not None:
            self._trace.after_tick(self, store)

    def _mark_old(self, store: Store | None) -> None:
        """While the feed is reconnecting, down or silent, every row and the index strip
        are drawn faint and the watchlist says since when its prices are."""
        note = freshness.old_prices(store, self.feed_state)
        for grid in self._main.query(Grid):
            grid.set_dimmed(note is not None)
        self._strip.set_dimmed(note is not None)
        self.watchlists.show_old(note)

    def _market_clock(self, store: Store | None) -> int | None:
        return freshness.market_clock(store, self.feed_state, self.demo_server)

    def _live_panels(self) -> list[Widget]:
        """The panels that follow the store (the alert log follows on_alert)."""
        return self._panels

    async def on_unmount(self) -> None:
        if self.engine is not None:
            self.engine.stop()
        self.sinks.close(timeout=2.0)  # the chat sinks: what waits gets 2 s to go out
        if hasattr(self, "list_watcher"):  # not there if mounting failed
            await self.list_watcher.stop()
