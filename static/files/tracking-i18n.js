// The tracking page's strings, in every language it speaks: one table,
// so a language is added here (and in the server's pageLanguages,
// httpapi/language.go) and nowhere else. The server picks the language
// (the state's "language"); the page falls back to English for a string
// a language lacks. A string is text with {name} slots, or a function of
// the values for grammar a slot cannot carry. What it returns is set as
// text (textContent), never as HTML: values may be user text (a name).
(function () {
  "use strict";

  // esAt is "a la 1:05" or "a las 10:42": Spanish says la for one o'clock.
  function esAt(time) { return (/^0?1[:.]/.test(time) ? "a la " : "a las ") + time; }

  var strings = {
    en: {
      title: "Your technician",
      tech_section: "Your technician",
      code_label: "Your technician's code:",
      code_hint: "— ask for it at the door",
      status_scheduled: "Your visit is scheduled",
      status_dispatched: "On the way",
      status_working: "Arrived",
      status_done: "Completed",
      status_cancelled: "Cancelled",
      arrived_at: "Arrived at {time}",
      completed_at: "Completed at {time}",
      arriving: "Arriving",
      in_minutes: "in about {n} min",
      distance: "Distance",
      waiting: "Waiting for {name}'s first location…",
      stale: "Last updated {n} min ago",
      map_label: "Map of your technician and your address",
      map_label_crew: "Map of your technicians and your address",
      legend_label: "Map legend",
      legend_tech: "Technician",
      legend_techs: "Technicians",
      legend_home: "Your address",
      crew_title: "Also on this visit",
      crew_code: "Code: {code}",
      feedback_title: "How was your visit?",
      feedback_done_title: "Your feedback",
      rating_legend: "Your rating",
      stars: function (v) { return v.n === 1 ? "1 star" : v.n + " stars"; },
      comment_label: "Anything to tell us? (optional)",
      send: "Send feedback",
      choose_stars: "Choose from 1 to 5 stars.",
      send_failed: "Your feedback could not be sent. Please try again.",
      send_offline: "Your feedback could not be sent: check your connection and try again.",
      thanks: "Thank you for your feedback!",
      service_address: "Service address",
      window: "Arrival window {window}",
      window_on: "{times} on {day}",
      questions: "Questions? Call",
      connecting: "Connecting…",
      photo_of: "Photo of {name}",
      rated: "Rated {rating} out of 5"
    },
    es: {
      title: "Su técnico",
      tech_section: "Su técnico",
      code_label: "Código de su técnico:",
      code_hint: "— pídaselo en la puerta",
      status_scheduled: "Su visita está programada",
      status_dispatched: "En camino",
      status_working: "Llegó",
      status_done: "Completada",
      status_cancelled: "Cancelada",
      arrived_at: function (v) { return "Llegó " + esAt(v.time); },
      completed_at: function (v) { return "Completada " + esAt(v.time); },
      arriving: "Llegada",
      in_minutes: "en unos {n} min",
      distance: "Distancia",
      waiting: "Esperando la primera ubicación de {name}…",
      stale: "Actualizado hace {n} min",
      map_label: "Mapa de su técnico y su dirección",
      map_label_crew: "Mapa de sus técnicos y su dirección",
      legend_label: "Leyenda del mapa",
      legend_tech: "Técnico",
      legend_techs: "Técnicos",
      legend_home: "Su dirección",
      crew_title: "También en esta visita",
      crew_code: "Código: {code}",
      feedback_title: "¿Qué tal fue su visita?",
      feedback_done_title: "Su opinión",
      rating_legend: "Su calificación",
      stars: function (v) { return v.n === 1 ? "1 estrella" : v.n + " estrellas"; },
      comment_label: "¿Algo que quiera contarnos? (opcional)",
      send: "Enviar opinión",
      choose_stars: "Elija de 1 a 5 estrellas.",
      send_failed: "No se pudo enviar su opinión. Inténtelo de nuevo.",
      send_offline: "No se pudo enviar su opinión: revise su conexión e inténtelo de nuevo.",
      thanks: "¡Gracias por su opinión!",
      service_address: "Dirección del servicio",
      window: "Horario de llegada: {window}",
      window_on: "{times}, el {day}",
      questions: "¿Preguntas? Llame al",
      connecting: "Conectando…",
      photo_of: "Foto de {name}",
      rated: "Calificación: {rating} de 5"
    }
  };

  // translator returns t(key, values) for lang: the string in lang (or in
  // English when lang lacks it) with its {slots} filled from values.
  function translator(lang) {
    var table = strings[lang] || strings.en;
    return function (key, values) {
      var s = table[key] !== undefined ? table[key] : strings.en[key];
      values = values || {};
      if (typeof s === "function") { return s(values); }
      if (s === undefined) { return key; }
      return s.replace(/\{(\w+)\}/g, function (all, name) { return values[name] !== undefined ? String(values[name]) : all; });
    };
  }

  window.TrackingI18n = { strings: strings, translator: translator };
})();
