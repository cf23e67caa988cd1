/*
 * mwg-gui: a small GTK 4 window over mwg for people who do not use a
 * terminal: log in (mwg login, so the device, renewal and posture checks
 * are the same), the systems from mwg list with an Open button each (mwg
 * open), what is open now, the session's time left, and the gateway's
 * reason when something is cut. The window keeps no secret: the password
 * and code go to mwg login on its standard input and the fields are
 * cleared; the session certificate stays where mwg keeps it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gtk/gtk.h>
#include <jansson.h>

#define STATUS_EVERY	30	/* seconds between session refreshes */
#define LIST_MAX	(1024 * 1024)	/* mwg list --json, bytes */
#define SAID_MAX	4	/* lines kept in view: a cut's reason stays */

struct gui {
	GtkWidget	*win, *status, *user, *pass, *code, *login;
	GtkWidget	*systems, *open_now, *message;
	const char	*mwg;		/* $MWG_BIN, else "mwg" in PATH */
	char		*said[SAID_MAX];	/* the newest last */
	gboolean	 is_status_busy;	/* an mwg status is running */
	const char	*dir;		/* $MWG_DIR is read by mwg itself */
};

struct opened {
	struct gui	*g;
	GtkWidget	*row;
	char		*target;
	GDataInputStream *err;
};

/* One line on stdout for whoever started the window (and the tests). */
static void
gui_log(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void
gui_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mwg-gui: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

/* The newest lines, so "program ended" does not hide why it was cut. */
static void
gui_say(struct gui *g, const char *text)
{
	GString *all = g_string_new(NULL);

	g_free(g->said[0]);
	memmove(g->said, g->said + 1, (SAID_MAX - 1) * sizeof(g->said[0]));
	g->said[SAID_MAX - 1] = g_strdup(text);
	for (int i = 0; i < SAID_MAX; i++)
		if (g->said[i] != NULL)
			g_string_append_printf(all, "%s%s", all->len ? "\n" : "",
			    g->said[i]);
	gtk_label_set_text(GTK_LABEL(g->message), all->str);
	g_string_free(all, TRUE);
	gui_log("message: %s", text);
}

/* What to do with a finished mwg run: ok, its stdout and stderr. */
typedef void (*gui_done_fn)(struct gui *, gboolean, char *, char *);

struct gui_job {
	struct gui	*g;
	gui_done_fn	 done;
};

static void
gui_run_cb(GObject *src, GAsyncResult *res, gpointer arg)
{
	struct gui_job *j = arg;
	char *out = NULL, *err = NULL;
	gboolean ok;

	ok = g_subprocess_communicate_utf8_finish(G_SUBPROCESS(src), res, &out,
	    &err, NULL) && g_subprocess_get_successful(G_SUBPROCESS(src));
	j->done(j->g, ok, out, err);
	g_free(out);
	g_free(err);
	g_object_unref(src);
	g_free(j);
}

/*
 * mwg VERB ARGS... in the background (it may wait on the network for
 * seconds: the window must not freeze); done runs when it ends.
 */
static void
gui_run(struct gui *g, const char *const *args, gui_done_fn done)
{
	const char *argv[12];
	struct gui_job *j;
	GError *e = NULL;
	GSubprocess *p;
	int n = 0;

	argv[n++] = g->mwg;
	for (; *args != NULL && n < 11; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
	    G_SUBPROCESS_FLAGS_STDERR_PIPE, &e);
	if (p == NULL) {
		done(g, FALSE, NULL, e->message);
		g_error_free(e);
		return;
	}
	j = g_new0(struct gui_job, 1);
	j->g = g;
	j->done = done;
	g_subprocess_communicate_utf8_async(p, NULL, NULL, gui_run_cb, j);
}

/* "user: alice" and "session: valid until ... (11h 59m left)" shown. */
static void
gui_status_done(struct gui *g, gboolean ok, char *out, char *err)
{
	char *line, *user = NULL, *session = NULL, *save = NULL;
	char text[512];

	g->is_status_busy = FALSE;
	if (!ok || out == NULL) {
		gtk_label_set_text(GTK_LABEL(g->status), err && *err ?
		    g_strstrip(err) : "mwg status failed");
		return;
	}
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "user: ", 6) == 0 && user == NULL)
			user = line + 6;
		else if (strncmp(line, "session: ", 9) == 0 && session == NULL)
			session = line + 9;
	}
	if (session == NULL || strncmp(session, "valid", 5) != 0)
		snprintf(text, sizeof(text), "not logged in%s%s",
		    session ? ": session " : "", session ? session : "");
	else
		snprintf(text, sizeof(text), "%s - session %s", user ? user :
		    "?", session);
	gtk_label_set_text(GTK_LABEL(g->status), text);
	gui_log("status: %s", text);
}

static gboolean
gui_status(gpointer arg)
{
	static const char *const args[] = { "status", NULL };
	struct gui *g = arg;

	if (!g->is_status_busy) {	/* one at a time, however slow */
		g->is_status_busy = TRUE;
		gui_run(g, args, gui_status_done);
	}
	return G_SOURCE_CONTINUE;
}

/* ---- what is open now ------------------------------------------------ */

static void gui_open_read(struct opened *o);

static void
gui_open_line_cb(GObject *src, GAsyncResult *res, gpointer arg)
{
	struct opened *o = arg;
	char *line = g_data_input_stream_read_line_finish_utf8(
	    G_DATA_INPUT_STREAM(src), res, NULL, NULL);

	if (line == NULL)
		return;		/* mwg open ended; the wait callback tidies */
	/* A cut or refusal names its reason: the person sees mwg's lines
	 * here, without the prefix; the program's own chatter (it shares
	 * the stream) only goes to the log. */
	if (g_str_has_prefix(line, "mwg: open: "))
		gui_say(o->g, line + 11);
	else
		gui_log("%s says: %s", o->target, line);
	g_free(line);
	gui_open_read(o);
}

static void
gui_open_read(struct opened *o)
{
	g_data_input_stream_read_line_async(o->err, G_PRIORITY_DEFAULT, NULL,
	    gui_open_line_cb, o);
}

static void
gui_open_done_cb(GObject *src, GAsyncResult *res, gpointer arg)
{
	struct opened *o = arg;

	g_subprocess_wait_finish(G_SUBPROCESS(src), res, NULL);
	gui_log("closed: %s", o->target);
	gtk_box_remove(GTK_BOX(o->g->open_now), o->row);
	g_object_unref(src);
	/* The stream's last read may still be queued: it holds o. */
}

static void
gui_open_cb(GtkButton *b, gpointer arg)
{
	struct gui *g = arg;
	const char *target = g_object_get_data(G_OBJECT(b), "target");
	const char *argv[] = { g->mwg, "open", target, NULL };
	GError *e = NULL;
	GSubprocess *p;
	struct opened *o;
	char text[256];

	p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDERR_PIPE, &e);
	if (p == NULL) {
		gui_say(g, e->message);
		g_error_free(e);
		return;
	}
	o = g_new0(struct opened, 1);
	o->g = g;
	o->target = g_strdup(target);
	o->err = g_data_input_stream_new(g_subprocess_get_stderr_pipe(p));
	snprintf(text, sizeof(text), "open: %s", target);
	o->row = gtk_label_new(text);
	gtk_label_set_xalign(GTK_LABEL(o->row), 0);
	gtk_box_append(GTK_BOX(g->open_now), o->row);
	gui_log("opening: %s", target);
	gui_open_read(o);
	g_subprocess_wait_async(p, NULL, gui_open_done_cb, o);
}

/* ---- the systems ------------------------------------------------------- */

static void
gui_clear(GtkWidget *box)
{
	GtkWidget *c;

	while ((c = gtk_widget_get_first_child(box)) != NULL)
		gtk_box_remove(GTK_BOX(box), c);
}

static GtkWidget *
gui_row(struct gui *g, json_t *e)
{
	const char *target = json_string_value(json_object_get(e, "target"));
	const char *name = json_string_value(json_object_get(e, "name"));
	const char *practice = json_string_value(json_object_get(e,
	    "practice"));
	const char *kind = json_string_value(json_object_get(e, "kind"));
	const char *title = json_string_value(json_object_get(e,
	    "practice_title"));
	int glass = json_is_true(json_object_get(e, "break_glass"));
	GtkWidget *row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12), *l, *b;
	char text[512], open[160];

	if (target == NULL || name == NULL || practice == NULL || kind == NULL)
		return NULL;
	(void)target;
	snprintf(text, sizeof(text), "%s.%s  (%s)  %s%s", name, practice, kind,
	    title ? title : "", glass ? "  - emergency (break-glass) only" :
	    "");
	l = gtk_label_new(text);
	gtk_label_set_xalign(GTK_LABEL(l), 0);
	gtk_widget_set_hexpand(l, TRUE);
	gtk_box_append(GTK_BOX(row), l);
	if (!glass) {	/* emergency access needs a reason: mwg open */
		b = gtk_button_new_with_label("Open");
		snprintf(open, sizeof(open), "%s.%s", name, practice);
		g_object_set_data_full(G_OBJECT(b), "target", g_strdup(open),
		    g_free);
		g_signal_connect(b, "clicked", G_CALLBACK(gui_open_cb), g);
		gtk_box_append(GTK_BOX(row), b);
	}
	return row;
}

static void
gui_list_done(struct gui *g, gboolean ok, char *out, char *err)
{
	GtkWidget *first = NULL, *row;
	json_t *arr, *e;
	size_t i;

	gui_clear(g->systems);
	if (!ok || out == NULL) {
		gui_say(g, err && *err ? g_strstrip(err) : "mwg list failed");
		return;
	}
	arr = strlen(out) < LIST_MAX ? json_loads(out, 0, NULL) : NULL;
	json_array_foreach(arr, i, e) {
		if ((row = gui_row(g, e)) == NULL)
			continue;
		gtk_box_append(GTK_BOX(g->systems), row);
		if (first == NULL && gtk_widget_get_last_child(row) !=
		    gtk_widget_get_first_child(row))
			first = gtk_widget_get_last_child(row);
	}
	gui_log("listed: %zu systems", json_array_size(arr));
	if (first != NULL)
		gtk_widget_grab_focus(first);
	json_decref(arr);
}

static void
gui_list(struct gui *g)
{
	static const char *const args[] = { "list", "--json", NULL };

	gui_run(g, args, gui_list_done);
}

/* ---- login ------------------------------------------------------------ */

static void
gui_login_done_cb(GObject *src, GAsyncResult *res, gpointer arg)
{
	struct gui *g = arg;
	char *out = NULL, *err = NULL;
	gboolean ok;

	ok = g_subprocess_communicate_utf8_finish(G_SUBPROCESS(src), res, &out,
	    &err, NULL) && g_subprocess_get_successful(G_SUBPROCESS(src));
	gui_say(g, ok ? "logged in" : err && *err ? g_strstrip(err) :
	    "mwg login failed");
	gtk_widget_set_sensitive(g->login, TRUE);
	g_object_unref(src);
	g_free(out);
	g_free(err);
	gui_status(g);
	if (ok)
		gui_list(g);
}

static void
gui_login_cb(GtkWidget *w, gpointer arg)
{
	struct gui *g = arg;
	const char *user = gtk_editable_get_text(GTK_EDITABLE(g->user));
	const char *argv[] = { g->mwg, "login", "--user", user,
	    "--password-file", "-", "--otp", "-", NULL };
	GError *e = NULL;
	GSubprocess *p;
	char *secrets;

	(void)w;
	p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDIN_PIPE |
	    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
	    &e);
	if (p == NULL) {
		gui_say(g, e->message);
		g_error_free(e);
		return;
	}
	secrets = g_strdup_printf("%s\n%s\n",
	    gtk_editable_get_text(GTK_EDITABLE(g->pass)),
	    gtk_editable_get_text(GTK_EDITABLE(g->code)));
	/* The fields are emptied at once: the window keeps neither. */
	gtk_editable_set_text(GTK_EDITABLE(g->pass), "");
	gtk_editable_set_text(GTK_EDITABLE(g->code), "");
	gtk_widget_set_sensitive(g->login, FALSE);
	gui_log("logging in: %s", user);
	g_subprocess_communicate_utf8_async(p, secrets, NULL,
	    gui_login_done_cb, g);
	explicit_bzero(secrets, strlen(secrets));
	g_free(secrets);
}

/* ---- the window --------------------------------------------------------- */

static GtkWidget *
gui_field(GtkWidget *grid, int row, const char *label, GtkWidget *entry)
{
	GtkWidget *l = gtk_label_new(label);

	gtk_label_set_xalign(GTK_LABEL(l), 1);
	gtk_grid_attach(GTK_GRID(grid), l, 0, row, 1, 1);
	gtk_widget_set_hexpand(entry, TRUE);
	gtk_grid_attach(GTK_GRID(grid), entry, 1, row, 1, 1);
	return entry;
}

static GtkWidget *
gui_heading(GtkWidget *box, const char *text)
{
	GtkWidget *l = gtk_label_new(NULL);
	char *m = g_markup_printf_escaped("<b>%s</b>", text);

	gtk_label_set_markup(GTK_LABEL(l), m);
	gtk_label_set_xalign(GTK_LABEL(l), 0);
	gtk_box_append(GTK_BOX(box), l);
	g_free(m);
	return l;
}

static void
gui_activate(GtkApplication *app, gpointer arg)
{
	struct gui *g = arg;
	GtkWidget *box, *grid;

	g->win = gtk_application_window_new(app);
	gtk_window_set_title(GTK_WINDOW(g->win), "mwg");
	gtk_window_set_default_size(GTK_WINDOW(g->win), 560, 420);
	box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 8);
	gtk_widget_set_margin_start(box, 12);
	gtk_widget_set_margin_end(box, 12);
	gtk_widget_set_margin_top(box, 12);
	gtk_widget_set_margin_bottom(box, 12);
	gtk_window_set_child(GTK_WINDOW(g->win), box);
	g->status = gtk_label_new("");
	gtk_label_set_xalign(GTK_LABEL(g->status), 0);
	gtk_box_append(GTK_BOX(box), g->status);

	gui_heading(box, "Log in");
	grid = gtk_grid_new();
	gtk_grid_set_row_spacing(GTK_GRID(grid), 4);
	gtk_grid_set_column_spacing(GTK_GRID(grid), 8);
	g->user = gui_field(grid, 0, "User name", gtk_entry_new());
	g->pass = gui_field(grid, 1, "Password", gtk_password_entry_new());
	g->code = gui_field(grid, 2, "Code from the app",
	    gtk_password_entry_new());
	g->login = gtk_button_new_with_label("Log in");
	gtk_grid_attach(GTK_GRID(grid), g->login, 1, 3, 1, 1);
	gtk_box_append(GTK_BOX(box), grid);
	g_signal_connect(g->login, "clicked", G_CALLBACK(gui_login_cb), g);
	g_signal_connect(g->code, "activate", G_CALLBACK(gui_login_cb), g);

	gui_heading(box, "Systems you may reach");
	g->systems = gtk_box_new(GTK_ORIENTATION_VERTICAL, 4);
	gtk_box_append(GTK_BOX(box), g->systems);
	gui_heading(box, "Open now");
	g->open_now = gtk_box_new(GTK_ORIENTATION_VERTICAL, 4);
	gtk_box_append(GTK_BOX(box), g->open_now);
	g->message = gtk_label_new("");
	gtk_label_set_wrap(GTK_LABEL(g->message), TRUE);
	gtk_label_set_xalign(GTK_LABEL(g->message), 0);
	gtk_box_append(GTK_BOX(box), g->message);

	gtk_window_present(GTK_WINDOW(g->win));
	gtk_widget_grab_focus(g->user);
	gui_status(g);
	g_timeout_add_seconds(STATUS_EVERY, gui_status, g);
	gui_log("ready");
}

int
main(int argc, char **argv)
{
	struct gui g = { 0 };
	GtkApplication *app;
	int rc;

	g.mwg = getenv("MWG_BIN") ? getenv("MWG_BIN") : "mwg";
	app = gtk_application_new("uk.nhs.example.mwg",
	    G_APPLICATION_NON_UNIQUE);
	g_signal_connect(app, "activate", G_CALLBACK(gui_activate), &g);
	rc = g_application_run(G_APPLICATION(app), argc, argv);
	g_object_unref(app);
	return rc;
}
