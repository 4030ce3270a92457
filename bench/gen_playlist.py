#!/usr/bin/env python3
"""Deterministic generator of a large, realistic IPTV VOD M3U playlist.

Benchmark input for playlist ingest. Every naming style comes from
/work/shared/playlists/NAMING.md (movie styles §1, series §2, tokens §3,
attributes §4, group-titles §5, URLs §6, tricky cases §7), and the line
shapes copy the sample files beside it (Stalkeer, xtream-mock, SwiftM3UKit,
publicdomainm3u, iptv-org).

    python bench/gen_playlist.py OUT.m3u [--entries 200000] [--seed 42]
                                 [--movies-share 0.45] [--series-share 0.45]

The same seed and arguments always give byte-identical output. The only source
of randomness is one random.Random(seed). Sets are used only for membership
tests and are never iterated. There is no clock. Output is written entry by
entry.

Library use:  from gen_playlist import generate
              stats = generate("/tmp/p.m3u", entries=200_000, seed=42)
"""

from __future__ import annotations

import argparse
import os
import random
import sys

__all__ = ["generate", "main"]

BASE = "http://provider.example:8080"
USER = "benchuser"
PASS = "benchpass123"
TMDB = "https://image.tmdb.org/t/p/"
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _w(s: str) -> list[str]:
    """Split a '|'-separated word list. Duplicates are removed and order kept."""
    return list(dict.fromkeys(x.strip() for x in s.split("|") if x.strip()))


def _cum(weights):
    out, t = [], 0
    for x in weights:
        t += x
        out.append(t)
    return out


# --------------------------------------------------------------------------
# Word lists
# --------------------------------------------------------------------------
EN_ADJ = _w("""Dark|Silent|Broken|Hidden|Last|Lost|Golden|Crimson|Frozen|Burning|Wild|
Savage|Eternal|Forgotten|Midnight|Secret|Final|Deadly|Little|Great|Long|Cold|Red|Black|
White|Blue|Iron|Silver|Steel|Electric|Wicked|Holy|Hollow|Bitter|Sweet|Brave|Lonely|
Endless|Distant|Perfect|Fallen|Rising|Haunted|Quiet|Empty|Shattered|Lucky|Crazy|
Dangerous|Beautiful|Sacred|Ancient|Northern|Southern|Invisible|Impossible|Lethal|
Infinite|Velvet|Scarlet|Emerald|Phantom|Rogue|Twisted|Sleeping|Running|Falling|Dead|
Living|Young|Old|Royal|Wandering|Restless|Desperate|Fearless|Furious|Reckless|Stolen|
Atomic|Cosmic|Lunar|Solar|Arctic|Tropical|Urban|Neon|Mighty|Gentle|Hungry|Angry|Happy|
Strange|Curious|Magnificent|Savage|Violent|Tender|Deep|High|Lawless|Nameless|Faceless|
Blind|Naked|Guilty|Innocent|Forbidden|Midsummer|Wintry|Glass|Paper|Stone|Copper""")
EN_NOUN = _w("""Night|Storm|River|Empire|Kingdom|Shadow|Heart|Fire|Ice|Moon|Sun|Star|Sky|
Ocean|Sea|Island|Mountain|Valley|Forest|City|Town|Road|Highway|Bridge|Tower|Castle|House|
Garden|Door|Window|Mirror|Dream|Nightmare|Ghost|Spirit|Angel|Demon|King|Queen|Prince|
Princess|Knight|Soldier|Warrior|Hunter|Killer|Thief|Spy|Agent|Detective|Doctor|Stranger|
Witness|Game|Code|Secret|Promise|Lie|Truth|Memory|Legacy|Legend|Prophecy|Curse|Escape|
Mission|Protocol|Zone|Frontier|Horizon|Edge|Line|Circle|Crown|Sword|Blade|Arrow|Bullet|
Wolf|Tiger|Lion|Eagle|Raven|Dragon|Snake|Spider|Horse|Dog|Cat|Bird|Fox|Bear|Shark|Whale|
Rose|Lily|Flower|Tree|Stone|Diamond|Gold|Blood|Bone|Hand|Eye|Voice|Song|Dance|Party|
Wedding|Funeral|Holiday|Summer|Winter|Spring|Autumn|Christmas|Weekend|Morning|Evening|
Hour|Day|Year|Century|Man|Woman|Girl|Boy|Child|Family|Brother|Sister|Father|Mother|Son|
Daughter|Friend|Lover|Enemy|Hero|Villain|Rebel|Outlaw|Sheriff|Pilot|Captain|Sailor|
Pirate|Robot|Machine|Signal|Planet|Galaxy|Universe|Paradise|Heaven|Labyrinth|Maze|
Tunnel|Vault|Prison|Asylum|Hotel|Motel|Station|Train|Express|Flight|Voyage|Journey|Quest|
Hunt|Chase|Race|Fight|War|Battle|Revenge|Vengeance|Justice|Judgment|Sin|Grace|Faith|
Hope|Fury|Rage|Silence|Echo|Whisper|Scream|Thunder|Lightning|Rain|Snow|Wind|Dust|Smoke|
Ash|Flame|Spark|Harvest|Orchard|Lighthouse|Harbor|Canyon|Desert|Jungle|Glacier|Comet""")
EN_PLACE = _w("""Paris|London|Rome|Berlin|Tokyo|Chicago|Texas|Alaska|Brooklyn|Harlem|
Casablanca|Istanbul|Cairo|Marseille|Madrid|Havana|Vegas|Hollywood|Manhattan|Montana|
Nevada|Dakota|Sicily|Tangier|Bombay|Shanghai|Moscow|Vienna|Prague|Dublin|Glasgow|Oslo|
Bangkok|Rio|Lisbon|Malibu|Miami|Memphis|Nashville|Phoenix|Seattle|Boston|Detroit|
Atlanta|Tijuana|Beirut|Saigon|Kyoto|Seoul|the Sahara|the North|the West|the South|Eden|
Avalon|Atlantis|Mars|Venus|Hong Kong|Baltimore|New Orleans|Louisiana|Yukon|Tuscany""")
EN_NAME = _w("""Jack|John|Max|Sam|Charlie|Harry|Lucy|Emma|Sophie|Anna|Clara|Frank|Johnny|
Billy|Bobby|Tommy|Rocky|Rosie|Molly|Maggie|Grace|Alice|Victor|Oscar|Leo|Hugo|Louis|Marie|
Julia|Nina|Eva|Vera|Ruby|Ivy|Jake|Luke|Nick|Ray|Ben|Dan|Joe|Mike|Tony|Vincent|Walter|
Arthur|Henry|Edward|George|Albert|Martha|Ellen|Rachel|Sarah|Hannah|Laura|Diane|Stella|
Lola|Mia|Zoe|Finn|Otis|Milo|Felix|Jasper|Wyatt|Flora|Raya|Clifford|Mister Rogers|
Charlie Chaplin|Mrs. Harris|Dr. Moreau|Captain Kidd|Uncle Buck|Aunt Bee""")
EN_VERB = _w("Open|Wake|Feed|Trust|Look at|Leave|Forget|Call|Follow|Kill|Breathe|Tell|Touch")
EN_NUM = _w("Two|Three|Four|Seven|Nine|Ten|Twelve|Thirteen|Forty|Hundred|Thousand")

FR_NM = _w("""Château|Secret|Voyage|Silence|Soleil|Loup|Roi|Prince|Jardin|Chemin|Destin|
Rêve|Cœur|Fantôme|Mystère|Trésor|Combat|Crime|Piège|Pacte|Serment|Miroir|Village|Bal|
Dîner|Mariage|Héritage|Cri|Souffle|Vent|Orage|Hiver|Printemps|Été|Enfer|Amour|Ange|
Dragon|Chevalier|Détective|Témoin|Mensonge|Complot|Procès|Retour|Réveil|Départ|Royaume""")
FR_NF = _w("""Nuit|Maison|Route|Ville|Forêt|Mer|Lune|Étoile|Reine|Princesse|Vengeance|
Promesse|Fille|Femme|Guerre|Chambre|Porte|Fenêtre|Île|Vallée|Montagne|Rivière|Légende|
Couronne|Ombre|Lumière|Vie|Mort|Chute|Fuite|Traque|Proie|Colère|Famille|Dame|Danse|
Chanson|Saison|Victoire|Rose|Affaire|Fête|Héritière|Marraine|Armée|Épreuve|Cité|Tempête""")
FR_ADJ = [("noir", "noire"), ("blanc", "blanche"), ("perdu", "perdue"),
          ("secret", "secrète"), ("sauvage", "sauvage"), ("oublié", "oubliée"),
          ("éternel", "éternelle"), ("mortel", "mortelle"), ("interdit", "interdite"),
          ("brisé", "brisée"), ("rouge", "rouge"), ("froid", "froide"), ("doux", "douce"),
          ("maudit", "maudite"), ("sacré", "sacrée"), ("lointain", "lointaine"),
          ("silencieux", "silencieuse"), ("parfait", "parfaite"),
          ("dangereux", "dangereuse"), ("étrange", "étrange"), ("caché", "cachée"),
          ("invisible", "invisible"), ("heureux", "heureuse"), ("fatal", "fatale"),
          ("glacé", "glacée"), ("écarlate", "écarlate"), ("enchanté", "enchantée")]
FR_PRE = [("Dernier", "Dernière"), ("Grand", "Grande"), ("Petit", "Petite"),
          ("Premier", "Première"), ("Nouveau", "Nouvelle"), ("Vieux", "Vieille"),
          ("Beau", "Belle"), ("Long", "Longue")]
FR_NAME = _w("""Raya|Flora|Ulysse|Amélie|Hélène|Chloé|Léa|Zoé|Théo|Jérôme|François|Joséphine|
Astérix|Mathilde|Benoît|Gaëlle|Noël|Cédric|Margaux|Élise|Anaïs|Grégoire|Clément|Inès""")
FR_PLACE = _w("""Marseille|Lyon|Bordeaux|Paris|Nantes|Brest|Montréal|Québec|Provence|
Bretagne|Normandie|Alger|Tunis|Dakar|Saint-Tropez|Chamonix|Corse|l’Alpe d’Huez|Versailles""")

ES_NM = _w("""Secreto|Camino|Laberinto|Silencio|Destino|Viaje|Corazón|Lobo|Rey|Fantasma|
Tesoro|Crimen|Pacto|Espejo|Sueño|Jardín|Amor|Infierno|Regreso|Cielo|Barco|Tiempo""")
ES_NF = _w("""Noche|Casa|Ciudad|Luna|Reina|Venganza|Promesa|Guerra|Sombra|Isla|Montaña|
Leyenda|Canción|Familia|Vida|Muerte|Huida|Niña|Mujer|Puerta|Tormenta|Estrella|Playa""")
ES_ADJ = [("oscuro", "oscura"), ("perdido", "perdida"), ("secreto", "secreta"),
          ("eterno", "eterna"), ("maldito", "maldita"), ("rojo", "roja"), ("frío", "fría"),
          ("salvaje", "salvaje"), ("prohibido", "prohibida"), ("olvidado", "olvidada"),
          ("silencioso", "silenciosa"), ("peligroso", "peligrosa"), ("hermoso", "hermosa"),
          ("último", "última"), ("dorado", "dorada"), ("roto", "rota")]
ES_NAME = _w("José|María|Lucía|Martín|Sofía|Andrés|Inés|Tomás|Ramón|Begoña|Íñigo|Nuria|Álvaro")
ES_PLACE = _w("Sevilla|Madrid|Bogotá|Cádiz|Tijuana|Valparaíso|Oaxaca|Málaga|La Habana|Tenerife")

DE_N = {"Der": _w("""Wald|Fluss|König|Schatten|Sturm|Traum|Wolf|Himmel|Krieg|Fluch|Schatz|
Berg|Tod|Weg|Zug|Sommer|Winter|Jäger|Fremde|Prinz|Schwur|Abgrund"""),
        "Die": _w("""Nacht|Stadt|Insel|Königin|Rache|Wahrheit|Stille|Brücke|Jagd|Reise|Liebe|
Straße|Legende|Flucht|Tür|Frau|Tochter|Grenze|Schuld|Spur"""),
        "Das": _w("""Haus|Schloss|Geheimnis|Spiel|Erbe|Licht|Herz|Land|Feuer|Grab|Dorf|
Schweigen|Versprechen|Mädchen|Boot|Experiment|Urteil""")}
DE_ADJ = _w("""dunkle|letzte|verlorene|schwarze|weiße|kalte|stille|ewige|geheime|vergessene|
große|kleine|wilde|rote|blaue|tödliche|verbotene|goldene|gebrochene|unsichtbare|fremde|
heilige|ferne|süße|böse|grüne""")
DE_PLACE = _w("Köln|München|Hamburg|Wien|Zürich|Düsseldorf|Lübeck|Görlitz|Rügen|Bayern")

TR_ADJ = _w("""Kara|Kırmızı|Beyaz|Son|Kayıp|Gizli|Sonsuz|Soğuk|Yalnız|Büyük|Küçük|Eski|Yeni|
Vahşi|Sıcak|Derin|Uzak|Karanlık|Altın|Çılgın|Mavi|Güzel|Kutsal|Yasak|Kırık|Sessiz""")
TR_NOUN = _w("""Gece|Aşk|Şehir|Yol|Deniz|Ay|Güneş|Yıldız|Kartal|Dağ|Sır|Ev|Kalp|Rüya|Kurt|
Aslan|Kral|Kraliçe|Ölüm|Hayat|Savaş|İntikam|Vatan|Sokak|Kader|Masal|Yağmur|Kar|Rüzgar|
Ateş|Kan|Gölge|Ada|Köprü|Kapı|Sessizlik|Şaman|Hazırlık|Bahar|Yemin""")
TR_POSS = _w("""Vadisi|Sırrı|Yolu|Kalbi|Gecesi|Masalı|Sokağı|Kapısı|Hikayesi|Yemini|Adası|
Çığlığı|Düğünü|Kızı|Oğlu|Gölgesi|Şarkısı|Bekçisi|Laneti|Mirası""")
TR_NAME = _w("Ayşe|Mehmet|Elif|Kemal|Zeynep|Murat|Şule|Cem|Deniz|Eşref|Gülşen|Ömer|Çağla|İlker")
TR_PLACE = _w("İstanbul|Ankara|İzmir|Kapadokya|Trabzon|Mardin|Bodrum|Çanakkale|Eskişehir")

AR_DEF = _w("""الليل|المدينة|القمر|البحر|الصحراء|الحب|الملك|الملكة|الذئب|السر|الطريق|الحرب|
الانتقام|الوعد|البيت|الحلم|الظل|النار|الجبل|النهر|القلب|العائلة|الشمس|الزمن|الفارس|الغريب""")
AR_ADJ = _w("الأخير|المفقود|الأسود|الأبيض|الكبير|الصغير|الخفي|الأبدي|المظلم|الذهبي|الأحمر|البعيد|المنسي")
AR_INDEF = _w("رحلة|ملحمة|حكاية|أسطورة|ليلة|عودة|نهاية|بداية|لعبة|مهمة|صرخة|أسرار|أبناء|ظلال")
AR_NAME = _w("فيوريوسا|ماد ماكس|شهرزاد|عنترة|ليلى|سندباد|نور|يوسف|مريم|كريم")

EP_EN = _w("""Pilot|New Directive|Reactivation|The Vault Beneath|Rising Action|Finale|
Homecoming|The Long Night|Crossroads|Point of No Return|Aftermath|Old Wounds|Fault Lines|
Blood Ties|The Reckoning|Cold Open|Dead Reckoning|Full Circle|Ghosts|Exit Wounds|
The Last Stand|Loose Ends|Home Front|Collateral|Burn Notice|Second Chances|Outbreak|
Checkmate|Zero Hour|The Clampetts Strike Oil|Smoke and Mirrors|Trial by Fire""")
EP_FR = _w("""Super soldat|Le Retour|La Traque|Premier jour|Sous pression|Le Piège|Jeu dangereux|
L’Héritage|Face à face|La Chute|Faux départ|Le Grand Soir|Règlement de comptes|À bout portant""")
EP_ES = _w("El regreso|La huida|Sin salida|Verdades|El pacto|Última noche|Cara a cara")
EP_DE = _w("Der Anfang|Die Spur|Schuld und Sühne|Nachtschicht|Das Urteil|Die Falle")
EP_TR = _w("Yeni Başlangıç|Veda|Yüzleşme|Kayıp|Sır Perdesi|Son Söz")
EP_AR = _w("البداية|العودة|المواجهة|الوداع|السر الأخير")

# --------------------------------------------------------------------------
# Group titles (§5). Double spaces and commas are taken from the STK samples.
# --------------------------------------------------------------------------
MOVIE_GROUPS = {
    "en": ["VOD - Fantasy Epics", "VOD - Action,  Thriller", "Movies", "Movie VOD",
           "Movies 2020", "Movies 2023", "Horror", "Comedy", "Noir", "Adventure",
           "EN: MOVIES - Action", "EN: MOVIES - Netflix", "EN| MOVIES 4K", "4K",
           "Movies|Action", "Movies|Drama", "VOD - Classic Cinema",
           "EN: MOVIES - Apple TV+", "Kids"],
    "fr": ["FR: FILMS - Disney+", "FR: FILMS - Netflix",
           "FR: FILMS DISNEY PLUS -  Science-Fiction", "FR: FILMS DISNEY - Action,  Aventure",
           "FR: FILMS - Comédie", "FR: FILMS - Policier,  Thriller", "Aventure", "Comédie",
           "Horreur", "FR: FILMS VOSTFR", "FR: FILMS 4K", "FR: FILMS - Nouveautés 2024",
           "FR: FILMS - Drame,  Romance", "FR: FILMS - Animation", "|FR| FILMS"],
    "es": ["ES:Movies - películas", "ES: PELÍCULAS - Acción",
           "ES: PELÍCULAS - Comedia,  Romance", "LATINO: Películas", "ES: PELÍCULAS - Estrenos"],
    "de": ["DE: FILME - Action", "DE: FILME - Komödie", "DE: FILME 4K",
           "DE: FILME - Krimi,  Thriller"],
    "tr": ["TR: FİLMLER", "TR: Yerli Filmler", "TR: Yabancı Filmler - Aksiyon,  Macera", "4K",
           "TR: FİLMLER - Dram"],
    "ar": ["AR:SUBT أفلام مترجمة", "AR: أفلام عربية", "AR: أفلام أجنبية - أكشن", "AR: أفلام كرتون"],
}
SERIES_GROUPS = {
    "en": ["Series|Drama", "Series|Comedy", "Series|Crime", "VOD - Demo Series",
           "VOD - Fantasy and Sci-Fi Series", "TV VOD", "EN: SERIES - Netflix",
           "EN: SERIES - Apple TV+", "EN: SERIES - HBO", "EN: SERIES - Crime,  Mystery"],
    "fr": ["Séries HBO MAX", "Séries DISNEY PLUS", "Séries K-DRAMA", "FR: SÉRIES - Netflix",
           "FR: SÉRIES - Policier,  Thriller", "FR: SÉRIES", "Séries CANAL+",
           "FR: SÉRIES DISNEY PLUS -  Animation", "|FR| SÉRIES"],
    "es": ["ES: SERIES - Netflix", "ES: Series - Telenovelas", "ES: SERIES - Drama,  Suspenso"],
    "de": ["DE: SERIEN - Krimi", "DE: SERIEN - Netflix", "DE: SERIEN - Comedy"],
    "tr": ["Series|Turkish", "TR: Yerli Diziler", "TR: DİZİLER - Netflix", "TR: Diziler - Dram"],
    "ar": ["AR: مسلسلات عربية", "AR:SUBT مسلسلات مترجمة", "AR: مسلسلات رمضان"],
}

LIVE_GROUPS = ["Live - News", "Live - World News Network", "Live - Sports",
               "Live - Kids and Animation", "Live - Sci-Fi and Fantasy", "Live - Music",
               "FR| SPORTS", "FR| GÉNÉRALISTES", "FR| INFOS", "FR| CINÉMA", "FR| JEUNESSE",
               "UK| ENTERTAINMENT", "UK| SPORTS", "US| NEWS", "US| LOCALS", "DE| SPORT",
               "ES| DEPORTES", "TR| ULUSAL", "TR| SPOR", "AR| MBC", "AR| رياضة",
               "Entertainment", "News", "Sports", "Kids", "Documentary", "Music",
               "Movies"]  # §5: live channels filed under "Movies"
LIVE_BRAND = _w("""Meridian|Northstar|Horizon|Atlas|Nova|Canal Azur|Télé Lumière|Quantum Reel|
Nebula Nine|Ironclad|Bubblegum Burrow|Snickerdoodle|Rascal Ridge|Giggle Grove|Polaris|
Zenith|Vertex|Aurora|Solstice|Equinox|Orbit|Cascade|Summit|Pioneer|Beacon|Harbor|Lumen|
Télénantes|Alpe d’Huez|Sport En France|Radio Côte|Kanal Yıldız|Akdeniz|Anadolu Işık|
قناة النور|الأفق|Canal Sur Estrella|Rhein|Alpen|Küstenwelle|Sophia|Ocean Breeze|
Crimson Peak|Silverline|Bluewater|Redstone|Goldcoast|Greenfield|Maple|Cedar""")
LIVE_TOPIC = _w("""News|Sport|Sports|Cinema|Kids|Music|Docs|Info|Series|Films|Junior|Action|
Comedy|Drama|Nature|History|Science|Weather|Business|Family|Classic|Premiere|Max|Plus|
Live|Arena|Racing|Golf|Fight|Cartoons|Travel|Cuisine|Mode|Haber|Spor|Sinema|أخبار|Deportes""")
LIVE_QUAL = ["HD", "FHD", "4K", "SD", "HEVC", "UHD HEVC", "H.264", "UHD", "HD+"]
LIVE_RES = ["(1080p)", "(720p)", "(480p)", "(576p)", "(540p)", "(360p)", "(404p)"]
LIVE_TAGS = ["[Not 24/7]", "[Geo-blocked]", "[Geo-Blocked]"]
CC = ["fr", "uk", "us", "de", "es", "tr", "ae", "be", "ch", "ca"]


def _roman(n: int) -> str:
    return ("", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")[n]


_NUM_WORD = ("", "One", "Two", "Three", "Four", "Five", "Six")

# Movie styles (§1): (name, weight)
MOVIE_STYLES = [
    ("year", 30), ("year_subt_ar", 3), ("qual_lang", 6), ("sd", 3), ("bare", 12),
    ("dash_year", 6), ("qual_colon", 6), ("fr_pipe", 4), ("year_hd", 6),
    ("bracket_tag", 5), ("dash_qual", 4), ("year_lang", 4), ("bare_year", 3),
]
# Preferred block styles by group language (a section keeps one house style).
MOVIE_STYLE_BY_LANG = {
    "en": [("year", 40), ("bare", 15), ("qual_colon", 10), ("bare_year", 6),
           ("year_hd", 8), ("dash_year", 6), ("bracket_tag", 5), ("dash_qual", 5),
           ("sd", 3)],
    "fr": [("qual_lang", 25), ("fr_pipe", 20), ("year", 20), ("bare", 10),
           ("dash_year", 10), ("year_hd", 10), ("sd", 5)],
    "es": [("year_lang", 40), ("year", 40), ("bare", 10), ("year_hd", 10)],
    "de": [("year", 50), ("dash_year", 20), ("year_hd", 15), ("bare", 15)],
    "tr": [("bracket_tag", 30), ("dash_qual", 25), ("year_lang", 15), ("year", 30)],
    "ar": [("year_subt_ar", 45), ("year", 40), ("bare", 15)],
}
SERIES_STYLES_BY_LANG = {
    "en": [("S_E", 20), ("SxE", 20), ("dash_title", 12), ("year_S_E", 8),
           ("season_word", 8), ("qual_colon", 10), ("x_short", 6), ("pds", 4),
           ("episode_only", 3), ("multi", 3)],
    "fr": [("S_E", 35), ("fr_x", 30), ("fr_x_title", 20), ("SxE", 10), ("multi", 5)],
    "es": [("S_E", 40), ("SxE", 40), ("x_short", 20)],
    "de": [("SxE", 50), ("S_E", 30), ("dash_title", 20)],
    "tr": [("sezon", 55), ("SxE_bolum", 25), ("SxE", 20)],
    "ar": [("S_E", 60), ("SxE", 40)],
}
LANGS = ["en", "fr", "es", "de", "tr", "ar"]
MOVIE_LANG_W = _cum([46, 24, 8, 6, 8, 8])
SERIES_LANG_W = _cum([45, 25, 8, 6, 10, 6])

# Attribute layouts (§4): (name, weight)
VOD_LAYOUTS = [("stk", 22), ("imdb", 15), ("noid", 14), ("mock", 12), ("pdm", 5),
               ("swift", 5), ("morph", 4), ("xui", 3), ("s48", 8), ("typed", 6),
               ("shuffled", 4), ("bare", 2)]
LIVE_LAYOUTS = [("mock", 30), ("iorg", 12), ("xtream", 25), ("chno", 15), ("s48", 8),
                ("typed", 5), ("shuffled", 5)]


class _Generator:
    def __init__(self, seed: int) -> None:
        self.r = rng = random.Random(seed)
        self.ch = rng.choice
        self.rnd = rng.random
        self.rr = rng.randrange
        self.next_id = 10000 + rng.randrange(5000)
        self.films: list[list] = []      # [title, year, imdb, logo, lang, nseq]
        self.film_seen: set[str] = set()  # membership only, never iterated
        self.show_seen: set[str] = set()
        self.counts = {"movie": 0, "series": 0, "live": 0}
        self.sequels = 0
        self.blank = 0
        self.extgrp = 0

    # -- small helpers -----------------------------------------------------
    def pick(self, pairs):
        names = [p[0] for p in pairs]
        return self.r.choices(names, cum_weights=_cum([p[1] for p in pairs]))[0]

    def new_id(self) -> int:
        self.next_id += 1 + self.rr(7)
        return self.next_id

    def tmdb_logo(self) -> str:
        size = "w300" if self.rnd() < 0.15 else "w600_and_h900_bestv2"
        return f"{TMDB}{size}/{''.join(self.r.choices(_ALNUM, k=27))}.jpg"

    def imdb(self) -> str:
        if self.rnd() < 0.6:
            return f"tt{self.rr(1000000, 9999999)}"
        return f"tt{self.rr(10000000, 39999999)}"

    def year(self) -> int:
        x = self.rnd()
        if x < 0.55:
            return 2010 + self.rr(16)
        if x < 0.85:
            return 1980 + self.rr(30)
        return 1920 + self.rr(60)

    # -- titles ------------------------------------------------------------
    def _fr_art(self, noun: str, fem: bool, lower: bool = False) -> str:
        if noun[0] in "AEIOUÉÈÊHŒÎaeiouéh":
            art = "L’" if self.rnd() < 0.5 else "L'"
            return (art.lower() if lower else art) + noun
        a = "La" if fem else "Le"
        return f"{a.lower() if lower else a} {noun}"

    def _title_en(self) -> str:
        c, x = self.ch, self.rr(100)
        A, N = EN_ADJ, EN_NOUN
        if x < 14:
            return f"The {c(A)} {c(N)}"
        if x < 26:
            return f"{c(A)} {c(N)}"
        if x < 38:
            return f"{c(N)} of the {c(N)}"
        if x < 46:
            return f"The {c(N)} of {c(EN_PLACE)}"
        if x < 51:
            return f"{c(N)} in {c(EN_PLACE)}"
        if x < 57:
            return f"{c(EN_NAME)}'s {c(N)}"
        if x < 60:
            return f"{c(EN_NAME)}’s {c(A)} {c(N)}"
        if x < 64:
            return f"{c(EN_NAME)} & {c(EN_NAME)}"
        if x < 68:
            return f"{c(N)} & {c(N)}"
        if x < 72:
            return f"The {c(N)} and the {c(N)}"
        if x < 80:
            return f"{c(A)} {c(N)}: {c(A)} {c(N)}"
        if x < 84:
            return f"{c(N)} : {c(N)} {c(N)}"
        if x < 88:
            return f"Don't {c(EN_VERB)} the {c(N)}"
        if x < 91:
            return f"{c(EN_NUM)} Days in {c(EN_PLACE)}"
        if x < 93:
            return f"{c(N)}"
        if x < 95:
            return f"The {c(A)} {c(N)} of {c(EN_NAME)}"
        # §7 false-positive traps: numbers that look like episodes/quality.
        y = self.rr(8)
        if y == 0:
            return f"Archive Reel No. {self.rr(2, 60)}"
        if y == 1:
            return f"{c(N)} Relic {self.ch(('4x3', '16x9', '2x4'))}"
        if y == 2:
            return f"Studio Frame {self.rr(2, 12)}: {c(N)}"
        if y == 3:
            return f"{c(N)} Wars Episode {_roman(self.rr(1, 10))}"
        if y == 4:
            return f"{c(N)} {self.rr(2, 4)}.0"
        if y == 5:
            return f"{self.rr(12, 99)} {c(N)}s Later"
        if y == 6:
            return f"4K{c(N).lower()} {c(N)}"
        return f"{c(EN_NAME)}'s '{c(('The ', ''))}{c(N)}'"

    def _title_fr(self) -> str:
        c, x = self.ch, self.rr(100)
        fem = self.rnd() < 0.5
        n = c(FR_NF if fem else FR_NM)
        adj = c(FR_ADJ)[fem]
        if x < 25:
            return f"{self._fr_art(n, fem)} {adj}"
        if x < 40:
            pre = c(FR_PRE)[fem]
            return f"{'La' if fem else 'Le'} {pre} {n}"
        if x < 52:
            return f"{self._fr_art(n, fem)} de {c(FR_PLACE)}"
        if x < 62:
            f2 = self.rnd() < 0.5
            n2 = c(FR_NF if f2 else FR_NM)
            if f2 or n2[0] in "AEIOUÉH":
                return f"{self._fr_art(n, fem)} de {self._fr_art(n2, f2, True)}"
            return f"{self._fr_art(n, fem)} du {n2}"
        if x < 70:
            pre = c(FR_PRE)[fem].lower()
            return f"{c(FR_NAME)} et {'la' if fem else 'le'} {pre} {n}"
        if x < 76:
            return f"{c(FR_NAME)} & {c(FR_NAME)}"
        if x < 86:
            return f"{c(EN_NOUN + FR_NAME)} : {self._fr_art(n, fem)} {adj}"
        if x < 91:
            return f"{'Une' if fem else 'Un'} {n} pour {c(('Noël', c(FR_NAME)))}"
        if x < 94:
            return f"{c(FR_NF)} ou presque"
        if x < 97:
            return f"{self._fr_art(n, fem)} à {c(FR_PLACE)}"
        return f"{self.rr(12, 99)} Jours plus tard"

    def _title_es(self) -> str:
        c, x = self.ch, self.rr(100)
        fem = self.rnd() < 0.5
        n = c(ES_NF if fem else ES_NM)
        art = "La" if fem else "El"
        if x < 35:
            return f"{art} {n} {c(ES_ADJ)[fem]}"
        if x < 55:
            return f"{art} {n} de {c(ES_NAME)}"
        if x < 70:
            return f"{art} {n} de {c(ES_PLACE)}"
        if x < 80:
            return f"{c(ES_NAME)} y {art.lower()} {n} {c(ES_ADJ)[fem]}"
        if x < 90:
            return f"{'Las' if fem else 'Los'} {n}s de {c(ES_PLACE)}"
        if x < 95:
            return f"¿Quién mató a {c(ES_NAME)}?"
        return f"{art} {n}: {c(ES_NM)} y {c(ES_NF)}"

    def _title_de(self) -> str:
        c, x = self.ch, self.rr(100)
        art = c(("Der", "Die", "Das"))
        n = c(DE_N[art])
        if x < 40:
            return f"{art} {c(DE_ADJ)} {n}"
        if x < 60:
            return f"{art} {n} von {c(DE_PLACE)}"
        if x < 75:
            return f"{c(EN_NAME)} und {art.lower()} {c(DE_ADJ)} {n}"
        if x < 90:
            a2 = c(("Der", "Die", "Das"))
            return f"{art} {n}: {a2} {c(DE_ADJ)} {c(DE_N[a2])}"
        return f"{art} {c(DE_ADJ)} {n} von {c(DE_PLACE)}"

    def _title_tr(self) -> str:
        c, x = self.ch, self.rr(100)
        if x < 30:
            return f"{c(TR_ADJ)} {c(TR_NOUN)}"
        if x < 50:
            return f"{c(TR_NOUN)} {c(TR_POSS)}"
        if x < 62:
            return f"{c(TR_PLACE)} {c(TR_POSS)}"
        if x < 72:
            return f"{c(TR_ADJ)} {c(TR_NOUN)} {c(TR_POSS)}"
        if x < 80:
            return f"{c(TR_NAME)} ile {c(TR_NAME)}"
        if x < 88:
            return f"{c(TR_NAME)}’in {c(TR_POSS)}"
        if x < 96:
            return f"{c(TR_NOUN)}: {c(TR_ADJ)} {c(TR_NOUN)}"
        return f"Yeni Hayata {c(TR_NOUN)}"

    def _title_ar(self) -> str:
        c, x = self.ch, self.rr(100)
        if x < 30:
            return f"{c(AR_DEF)} {c(AR_ADJ)}"
        if x < 60:
            return f"{c(AR_INDEF)} {c(AR_DEF)}"
        if x < 80:
            return f"{c(AR_NAME)}: {c(AR_INDEF)} {c(AR_DEF)}"
        return f"{c(AR_INDEF)} {c(AR_DEF)}: {c(AR_INDEF)} {c(AR_DEF)} {c(AR_ADJ)}"

    def raw_title(self, lang: str) -> str:
        return getattr(self, "_title_" + lang)()

    def unique_title(self, lang: str, seen: set) -> str:
        for _ in range(12):
            t = self.raw_title(lang)
            if t not in seen:
                seen.add(t)
                return t
        while True:  # saturated: join two titles as title and subtitle
            t = f"{self.raw_title(lang)} : {self.raw_title(lang)}"
            if t not in seen:
                seen.add(t)
                return t

    # -- films -------------------------------------------------------------
    def new_film(self, lang: str) -> list:
        films = self.films
        if films and self.rnd() < 0.09:
            base = films[self.rr(len(films))]
            if base[5] < 5 and base[5] > 0:
                n = base[5] + 1
                b = base[0]
                if base[4] == "tr" and self.rnd() < 0.4:
                    t = f"{b}: Bölüm {n}"
                else:
                    form = self.rr(3)
                    t = (f"{b} {n}", f"{b} {_roman(n)}",
                         f"{b}: Part {_NUM_WORD[n]}")[form]
                if t not in self.film_seen:
                    self.film_seen.add(t)
                    base[5] = n
                    self.sequels += 1
                    y = min(2025, base[1] + (1 + self.rr(5)))
                    f = [t, y, self.imdb(), self.tmdb_logo(), base[4], 0]
                    films.append(f)
                    return f
        t = self.unique_title(lang, self.film_seen)
        f = [t, self.year(), self.imdb(), self.tmdb_logo(), lang, 1]
        films.append(f)
        return f

    def movie_display(self, style: str, t: str, y: int, glang: str) -> str:
        c = self.ch
        if style == "year":
            return f"{t} ({y})"
        if style == "year_subt_ar":
            return f"{t} ({y}) SUBT AR"
        if style == "qual_lang":
            q = "FHD" if self.rnd() < 0.85 else "HD"
            lang = "VOSTFR" if self.rnd() < 0.2 else "MULTI"
            return f"{t} ({q} {lang})"
        if style == "sd":
            return f"{t} (SD)" if self.rnd() < 0.7 else f"{t} (SDTV)"
        if style == "bare":
            return t
        if style == "dash_year":
            return f"{t} - {y}"
        if style == "qual_colon":
            return f"{'HD' if self.rnd() < 0.75 else 'SD'} : {t} {y}"
        if style == "bare_year":
            return f"{t} {y}"
        if style == "fr_pipe":
            return f"|FR| {t}"
        if style == "year_hd":
            return f"{t} ({y}) HD"
        if style == "bracket_tag":
            tag = c(("4K HDR", "4K HDR", "4K", "TR SUB") if glang == "tr" else
                    ("4K HDR", "4K", "HDR", "MULTI"))
            return f"{t} [{tag}] ({y})"
        if style == "dash_qual":
            return f"{t} - {c(('4K', '4K', 'FHD', 'HD'))} ({y})"
        if style == "year_lang":
            code = {"es": "ES", "tr": "TR", "fr": "FR", "de": "DE"}.get(glang, "ES")
            return f"{t} ({y}) ({code})"
        return f"{t} ({y})"

    # -- EXTINF lines ------------------------------------------------------
    def vod_extinf(self, layout, dur, name, group, logo, imdb, ttype, xid, sp_comma):
        """One #EXTINF line for a movie or an episode, laid out like the samples."""
        if layout == "stk":
            tid = "" if self.rnd() < 0.9 else imdb
            return f'#EXTINF:{dur} tvg-id="{tid}" tvg-name="{name}" tvg-logo="{logo}" group-title="{group}",{name}'
        if layout == "imdb":
            if self.rnd() < 0.06:  # a few entries without the id
                return f'#EXTINF:{dur} tvg-name="{name}" tvg-logo="{logo}" group-title="{group}",{name}'
            return f'#EXTINF:{dur} tvg-id="{imdb}" tvg-name="{name}" tvg-logo="{logo}" group-title="{group}",{name}'
        if layout == "noid":
            return f'#EXTINF:{dur} tvg-name="{name}" tvg-logo="{logo}" group-title="{group}",{name}'
        if layout == "mock":
            return f'#EXTINF:{dur} tvg-logo="{logo}" group-title="{group}",{name}'
        if layout == "pdm":
            return f'#EXTINF:{dur} group-title="{group}" tvg-logo="{logo}", {name}'
        if layout == "swift":
            return f'#EXTINF:{dur} tvg-name="{name}" group-title="{group}",{name}'
        if layout == "morph":
            return f'#EXTINF:{dur} group-title="{group}" tvg-logo="{logo}" logo="{logo}" tvg-name="{name}",{name}'
        if layout == "xui":
            return f'#EXTINF:{dur} xui-id="{xid}" tvg-logo="{logo}" group-title="{group}",{name}'
        if layout == "s48":
            sp = " " if sp_comma else ""
            return f'#EXTINF:{dur} tvg-id="{imdb}" tvg-name="{imdb}" tvg-logo="{logo}" group-title="{group}" tvg-type="{ttype}"{sp},{name}'
        if layout == "typed":
            return f'#EXTINF:{dur} tvg-id="{imdb}" tvg-name="{name}" tvg-type="{ttype}" tvg-logo="{logo}" group-title="{group}",{name}'
        if layout == "shuffled":
            attrs = [f'tvg-name="{name}"', f'tvg-logo="{logo}"', f'group-title="{group}"']
            if self.rnd() < 0.5:
                attrs.append(f'tvg-id="{imdb}"')
            elif self.rnd() < 0.5:
                attrs.append('tvg-id=""')
            if self.rnd() < 0.3:
                attrs.append(f'tvg-type="{ttype}"')
            self.r.shuffle(attrs)
            return f"#EXTINF:{dur} {' '.join(attrs)},{name}"
        # "bare": no attributes at all (S48): "#EXTINF:-1, HD : Title"
        return f"#EXTINF:{dur}, {name}"

    def write_entry(self, out, kind, extinf, url, grp_line, blank_after):
        if grp_line is not None:
            out.write(f"{extinf}\n#EXTGRP:{grp_line}\n{url}\n")
            self.extgrp += 1
        else:
            out.write(f"{extinf}\n{url}\n")
        if blank_after:
            out.write("\n")
            self.blank += 1
        self.counts[kind] += 1

    # -- blocks --------------------------------------------------------------
    def block_common(self, layouts):
        layout = self.pick(layouts)
        extgrp = layout == "s48" or self.rnd() < 0.04
        blank_each = layout == "pdm" or self.rnd() < 0.02
        if layout in ("pdm", "swift"):
            dmode = "sec"
        elif layout in ("s48", "bare"):
            dmode = "zero" if self.rnd() < 0.5 else "neg"
        else:
            dmode = "sec" if self.rnd() < 0.08 else "neg"
        return layout, extgrp, blank_each, dmode

    def movie_block(self, out, n: int) -> None:
        glang = LANGS[self.r.choices(range(6), cum_weights=MOVIE_LANG_W)[0]]
        group = self.ch(MOVIE_GROUPS[glang])
        layout, extgrp, blank_each, dmode = self.block_common(VOD_LAYOUTS)
        style = self.pick(MOVIE_STYLE_BY_LANG[glang])
        sp_comma = self.rnd() < 0.5
        ttype = self.ch(("movies", "movie"))
        route = self.pick([("movie", 70), ("movies", 25), ("xui", 5)])
        ext_mkv = 0.75 if route != "movie" else 0.5
        if layout == "xui":
            route = "xui"
        grp_line = group if extgrp else None
        prev = None
        films = self.films
        rnd = self.rnd
        for _ in range(n):
            x = rnd()
            if prev is not None and x < 0.12:
                f = prev                      # same film, next quality (STK "Last Action Hero")
                st = self.pick(MOVIE_STYLES)
            elif films and x < 0.33:
                f = films[self.rr(len(films))]  # same film elsewhere in the catalogue
                st = style if rnd() < 0.6 else self.pick(MOVIE_STYLES)
            else:
                lang = glang if rnd() < 0.75 else "en"
                f = self.new_film(lang)
                st = style if rnd() < 0.85 else self.pick(MOVIE_STYLES)
            prev = f
            name = self.movie_display(st, f[0], f[1], glang)
            logo = f[3] if rnd() < 0.85 else self.tmdb_logo()
            sid = self.new_id()
            dur = ("-1" if dmode == "neg" else "0" if dmode == "zero"
                   else str(4800 + self.rr(4200)))
            line = self.vod_extinf(layout, dur, name, group, logo, f[2], ttype, sid, sp_comma)
            ext = "mkv" if rnd() < ext_mkv else "mp4"
            if route == "movie":
                url = f"{BASE}/movie/{USER}/{PASS}/{sid}.{ext}"
            elif route == "movies":
                url = f"{BASE}/movies/{USER}/{PASS}/{sid}.{ext}"
            else:
                url = f"{BASE}/movie/{USER}/{PASS}/{sid}#.{ext}"
            self.write_entry(out, "movie", line, url, grp_line,
                             blank_each or rnd() < 0.003)

    def series_block(self, out, n: int) -> None:
        glang = LANGS[self.r.choices(range(6), cum_weights=SERIES_LANG_W)[0]]
        lang = glang if self.rnd() < 0.8 else "en"
        show = self.unique_title(lang, self.show_seen)
        if self.rnd() < 0.01:
            show = str(1850 + self.rr(150))    # §7: "1883" is a series title
        year = self.year()
        style = self.pick(SERIES_STYLES_BY_LANG[glang])
        if glang != "tr" and self.rnd() < 0.03:
            style = "sezon"
        layout, extgrp, blank_each, dmode = self.block_common(VOD_LAYOUTS)
        if style == "episode_only":
            seasons = [3 + self.rr(10)]
        else:
            nseas = 1 + min(self.rr(10), self.rr(10))
            base_eps = 6 + self.rr(19)
            seasons = [max(3, base_eps + self.rr(5) - 2) for _ in range(nseas)]
        if self.rnd() < 0.12:
            group = f"{show} ({year})" if self.rnd() < 0.5 else show  # group = show name
        else:
            group = self.ch(SERIES_GROUPS[glang])
        grp_line = group if extgrp else None
        imdb = self.imdb()
        show_logo = self.tmdb_logo()
        per_ep_logo = self.rnd() < 0.4
        ttype = self.ch(("tvshows", "series"))
        sp_comma = self.rnd() < 0.5
        ext_mkv = 0.8 if self.rnd() < 0.7 else 0.1
        ep_words = {"en": EP_EN, "fr": EP_FR, "es": EP_ES, "de": EP_DE,
                    "tr": EP_TR, "ar": EP_AR}[glang]
        qual = "HD" if self.rnd() < 0.75 else "SD"
        s_start = 1 if self.rnd() < 0.9 else 1 + self.rr(25)  # (S48: "S26 E14")
        rnd = self.rnd
        c = self.ch
        written = 0
        epn = 0
        for si, neps in enumerate(seasons):
            s = s_start + si
            for e in range(1, neps + 1):
                if written >= n:
                    return
                epn += 1
                if style == "S_E":
                    name = f"{show} S{s:02d} E{e:02d}"
                elif style == "SxE":
                    name = f"{show} S{s:02d}E{e:02d}"
                elif style == "dash_title":
                    name = f"{show} - S{s:02d}E{e:02d} - {c(ep_words)}"
                elif style == "year_S_E":
                    name = f"{show} ({year}) S{s:02d} E{e:02d}"
                elif style == "season_word":
                    name = f"{show} Season {s} Episode {e}"
                elif style == "sezon":
                    name = f"{show} Sezon {s} Bölüm {e}"
                elif style == "SxE_bolum":
                    name = f"{show} S{s:02d}E{e:02d} Bölüm {e}"
                elif style == "fr_x":
                    name = f"|FR| {show} S{s:02d} |FR| {show} {s:02d}x{e:02d}"
                elif style == "fr_x_title":
                    name = f"|FR| {show} S{s:02d} |FR| {show} {s:02d}x{e:02d} - {c(ep_words)}"
                elif style == "qual_colon":
                    name = f"{qual} : {show} S{s:02d}E{e:02d}"
                elif style == "x_short":
                    name = f"{show} {s}x{e:02d}"
                elif style == "pds":
                    name = f"{show} - S{s:02d}E{e:02d}: {c(ep_words)} ({year})"
                elif style == "episode_only":
                    name = f"{show} - Episode {epn} - {c(ep_words)}"
                else:  # multi
                    name = f"{show} (Multi) S{s:02d}E{e:02d}"
                sid = self.new_id()
                logo = self.tmdb_logo() if per_ep_logo else show_logo
                dur = ("-1" if dmode == "neg" else "0" if dmode == "zero"
                       else str(1200 + self.rr(2400)))
                line = self.vod_extinf(layout, dur, name, group, logo, imdb, ttype, sid, sp_comma)
                ext = "mkv" if rnd() < ext_mkv else "mp4"
                if layout == "xui" and rnd() < 0.5:
                    url = f"{BASE}/series/{USER}/{PASS}/{sid}#.{ext}"
                else:
                    url = f"{BASE}/series/{USER}/{PASS}/{sid}.{ext}"
                self.write_entry(out, "series", line, url, grp_line,
                                 blank_each or rnd() < 0.003)
                written += 1

    def channel_name(self) -> str:
        c, x = self.ch, self.rnd()
        if x < 0.45:
            base = f"{c(LIVE_BRAND)} {c(LIVE_TOPIC)}"
        elif x < 0.65:
            base = f"{c(LIVE_BRAND)} {c(LIVE_TOPIC)} {1 + self.rr(9)}"
        elif x < 0.8:
            base = c(LIVE_BRAND)
        elif x < 0.9:
            base = f"{c(LIVE_BRAND)} {c(LIVE_BRAND)}"
        elif x < 0.97:
            base = f"{c(LIVE_BRAND)} TV"
        else:
            base = "UltraVision"
        y = self.rnd()
        if y < 0.12:
            base = f"{c(CC).upper()}: {base}"
        elif y < 0.2:
            base = f"|{c(CC).upper()}| {base}"
        return base

    def live_block(self, out, n: int) -> None:
        layout, extgrp, blank_each, _ = self.block_common(LIVE_LAYOUTS)
        group = self.ch(LIVE_GROUPS)
        grp_line = group if extgrp else None
        route = self.pick([("ts", 45), ("m3u8", 35), ("noprefix", 20)])
        suffix_mode = self.pick([("qual", 45), ("res", 35), ("none", 20)])
        tag_rate = 0.15 if suffix_mode == "res" else 0.03
        cc = self.ch(CC)
        id_style = self.rr(3)
        rnd = self.rnd
        c = self.ch
        written = 0
        chno = 1 + self.rr(900)
        while written < n:
            base = self.channel_name()
            if id_style == 0:
                tid = base.replace(" ", "").replace("|", "").replace(":", "") + f".{cc}"
            elif id_style == 1:
                tid = base.lower().replace(" ", ".")
            else:
                tid = f"{cc}.{self.rr(100000)}"
            if rnd() < 0.05:
                tid = ""
            # Same channel at several resolutions (IORG "Sport En France").
            variants = 1 if rnd() < 0.85 else 2 + self.rr(2)
            logo = f"{BASE}/images/logos/{self.rr(10**6):06d}.png"
            for _ in range(variants):
                if written >= n:
                    return
                if suffix_mode == "qual":
                    name = f"{base} {c(LIVE_QUAL)}"
                elif suffix_mode == "res":
                    name = f"{base} {c(LIVE_RES)}"
                else:
                    name = base
                if rnd() < tag_rate:
                    name = f"{name} {c(LIVE_TAGS)}"
                sid = self.new_id()
                chno += 1
                if layout == "mock":
                    line = f'#EXTINF:-1 tvg-id="{tid}" tvg-name="{name}" tvg-logo="{logo}" group-title="{group}",{name}'
                elif layout == "iorg":
                    line = (f'#EXTINF:-1 tvg-id="{tid}",{name}' if rnd() < 0.95
                            else f"#EXTINF:-1,{name}")
                elif layout == "xtream":
                    line = f'#EXTINF:-1 tvg-id="" tvg-name="{name}" tvg-logo="{logo}" group-title="{group}",{name}'
                elif layout == "chno":
                    line = f'#EXTINF:-1 tvg-id="{tid}" tvg-name="{name}" tvg-logo="{logo}" tvg-chno="{chno}" group-title="{group}",{name}'
                elif layout == "s48":
                    line = f'#EXTINF:0 tvg-id="{tid}" tvg-name="{name}" tvg-logo="{logo}" group-title="{group}",{name}'
                elif layout == "typed":
                    line = f'#EXTINF:-1 tvg-id="{tid}" tvg-name="{name}" tvg-type="live" tvg-logo="{logo}" group-title="{group}",{name}'
                else:
                    attrs = [f'tvg-id="{tid}"', f'tvg-name="{name}"',
                             f'tvg-logo="{logo}"', f'group-title="{group}"']
                    if rnd() < 0.3:
                        del attrs[0]
                    self.r.shuffle(attrs)
                    line = f"#EXTINF:-1 {' '.join(attrs)},{name}"
                if route == "ts":
                    url = f"{BASE}/live/{USER}/{PASS}/{sid}.ts"
                elif route == "m3u8":
                    url = f"{BASE}/live/{USER}/{PASS}/{sid}.m3u8"
                else:
                    url = f"{BASE}/{USER}/{PASS}/{sid}"
                self.write_entry(out, "live", line, url,
                                 grp_line if layout != "iorg" else None,
                                 blank_each or rnd() < 0.003)
                written += 1

    # -- whole file ------------------------------------------------------------
    def run(self, out, entries: int, movies_share: float, series_share: float) -> None:
        n_movie = round(entries * movies_share)
        n_series = min(entries - n_movie, round(entries * series_share))
        remaining = {"movie": n_movie, "series": n_series,
                     "live": entries - n_movie - n_series}
        if self.rnd() < 0.5:
            out.write(f'#EXTM3U x-tvg-url="{BASE}/xmltv.php?username={USER}&password={PASS}"\n')
        else:
            out.write("#EXTM3U\n")
        if self.rnd() < 0.3:
            out.write("\n")
        kinds = ("movie", "series", "live")
        while True:
            rem = [remaining[k] for k in kinds]
            total = sum(rem)
            if total == 0:
                break
            k = kinds[self.r.choices(range(3), weights=rem)[0]]
            before = self.counts[k]
            if k == "movie":
                self.movie_block(out, min(remaining[k], 20 + self.rr(380)))
            elif k == "series":
                self.series_block(out, remaining[k])
            else:
                self.live_block(out, min(remaining[k], 10 + self.rr(110)))
            remaining[k] -= self.counts[k] - before


def generate(path, entries: int = 200_000, seed: int = 42,
             movies_share: float = 0.45, series_share: float = 0.45) -> dict:
    """Write the playlist to *path* and return its statistics.

    The same arguments always produce byte-identical files. The result holds
    entries, bytes, per-kind counts (movie/series/live), distinct movie titles,
    sequels, blank lines and #EXTGRP lines.
    """
    if entries < 0:
        raise ValueError("entries must be >= 0")
    if not (0 <= movies_share <= 1 and 0 <= series_share <= 1
            and movies_share + series_share <= 1 + 1e-9):
        raise ValueError("shares must be in [0, 1] and sum to at most 1")
    g = _Generator(seed)
    with open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
        g.run(out, entries, movies_share, series_share)
    return {
        "entries": sum(g.counts.values()),
        "bytes": os.path.getsize(path),
        "movie": g.counts["movie"],
        "series": g.counts["series"],
        "live": g.counts["live"],
        "distinct_movie_titles": len(g.films),
        "sequels": g.sequels,
        "blank_lines": g.blank,
        "extgrp_lines": g.extgrp,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output .m3u path")
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--movies-share", type=float, default=0.45)
    ap.add_argument("--series-share", type=float, default=0.45)
    a = ap.parse_args(argv)
    try:
        s = generate(a.out, a.entries, a.seed, a.movies_share, a.series_share)
    except ValueError as e:
        ap.error(str(e))
    print(f"gen_playlist: wrote {s['entries']} entries, {s['bytes']} bytes to {a.out} "
          f"(movie={s['movie']} series={s['series']} live={s['live']}; "
          f"distinct movie titles={s['distinct_movie_titles']}, sequels={s['sequels']}, "
          f"blank={s['blank_lines']}, extgrp={s['extgrp_lines']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
